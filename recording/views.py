"""HTTP API of the recording package (filled by its issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
