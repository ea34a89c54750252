#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages the tests use when they are missing, so that a fresh
# machine passes `make test`. Each argument is "command:package".
set -euo pipefail
missing=()
for pair in "$@"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  # A command name on PATH, an absolute path, or a glob such as /usr/lib/postgresql/*/bin/initdb.
  if ! command -v "$cmd" >/dev/null 2>&1 && ! compgen -G "$cmd" >/dev/null; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
# The lists may be stale or absent on a fresh machine; another apt may hold the lock for a while.
for attempt in 1 2 3 4 5; do
  if $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "apt-get failed (attempt $attempt); retrying in 10 s" >&2
  sleep 10
done
exit 1
