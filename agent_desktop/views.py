"""Serves the single-page UI, its third-party assets (from node_modules), the message catalog and the
settings the UI needs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from core import i18n
from core.web import AppSettings

UI_DIR = Path(__file__).parent / "ui"
VENDOR_FILES = {
    "pico.min.css": "@picocss/pico/css/pico.min.css",
}
router = APIRouter(tags=["ui"])


def _node_modules() -> Path:
    # The repository root holds node_modules (installed by `make setup`); an installed wheel looks at CWD.
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidate = base / "node_modules"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "node_modules"


class UiConfig(BaseModel):
    timezone: str
    default_language: str
    languages: list[str]
    ring_cycle_seconds: float


@router.get("/api/ui/config", response_model=UiConfig)
def ui_config(settings: AppSettings) -> UiConfig:
    return UiConfig(
        timezone=settings.timezone,
        default_language=settings.default_language,
        languages=list(i18n.LANGUAGES),
        ring_cycle_seconds=settings.ring_cycle_seconds,
    )


@router.get("/api/i18n/{language}")
def messages(language: str) -> JSONResponse:
    lang = i18n.normalise_language(language)
    if lang is None:
        raise HTTPException(404)
    return JSONResponse(i18n.catalog(lang), headers={"Cache-Control": "no-cache"})


@router.get("/vendor/{name}", include_in_schema=False)
def vendor(name: str) -> FileResponse:
    relative = VENDOR_FILES.get(name)
    if relative is None:
        raise HTTPException(404)
    path = _node_modules() / relative
    if not path.is_file():
        raise HTTPException(404, f"{relative} missing: run `make setup` (npm install)")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: str) -> FileResponse:
    target = (UI_DIR / path).resolve()
    if UI_DIR.resolve() not in target.parents or not target.is_file():
        raise HTTPException(404)
    return FileResponse(target, headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", headers={"Cache-Control": "no-cache"})
