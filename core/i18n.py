"""Messages in zh-CN (the default) and en.

Catalogs are JSON files, one per domain and language, in ``core/locales/<lang>/<domain>.json``; other
packages add theirs with :func:`register_catalog_dir`. Keys: ``ui.*`` screen text, ``menu.*``,
``field.<form>.<name>`` labels, ``enum.<Enum>.<value>``, ``error.*`` and ``validation.*`` messages.
"""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_catalog_dirs: list[Path] = [Path(__file__).parent / "locales"]


def register_catalog_dir(path: Path) -> None:
    """Another package's ``locales`` folder (same layout) joins the catalog."""
    if path not in _catalog_dirs:
        _catalog_dirs.append(path)
        catalog.cache_clear()


@lru_cache(maxsize=len(LANGUAGES))
def catalog(language: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for directory in _catalog_dirs:
        for file in sorted((directory / language).glob("*.json")):
            messages.update(json.loads(file.read_text(encoding="utf-8")))
    return messages


def normalise_language(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().replace("_", "-").lower()
    if value.startswith("zh"):
        return "zh-CN"
    if value.startswith("en"):
        return "en"
    return None


def negotiate(*candidates: str | None, accept_language: str | None = None) -> str:
    """The first explicit choice wins (query, cookie, user preference), then the browser's list."""
    for candidate in candidates:
        language = normalise_language(candidate)
        if language:
            return language
    for part in (accept_language or "").split(","):
        language = normalise_language(part.split(";")[0])
        if language:
            return language
    return DEFAULT_LANGUAGE


def translate(key: str, language: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The message for ``key``; falls back to the default language, then to the key itself."""
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if params:
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**params)
    return text
