# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := redis-server:redis-server /usr/bin/chromium:chromium /usr/lib/postgresql/*/bin/initdb:postgresql \
	espeak-ng:espeak-ng sox:sox ffmpeg:ffmpeg
.PHONY: setup demo serve test lint typecheck unit bench system-packages clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/callcenter demo

serve: setup
	$(BIN)/callcenter serve

system-packages:
	./scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -p no:cacheprovider

test: setup system-packages lint typecheck unit

bench: setup
	@for b in bench/[a-z]*.py; do name=$$(basename $$b .py); echo "== bench.$$name"; $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) node_modules data .pytest_cache .mypy_cache .ruff_cache
