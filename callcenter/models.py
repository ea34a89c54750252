"""Every table of every package, imported once so that metadata (and Alembic) sees the whole model."""

from __future__ import annotations

from core.db import Base

MODEL_MODULES = (
    "core.people.models",
    "core.audit.models",
    "core.calls.models",
    "core.customers.models",
    "core.contacts.models",
    "core.complaints.models",
    "core.equipment.models",
    "core.access.models",
    "core.escalations.models",
    "core.pause_reasons.models",
    "acd.records.models",
    "ivr.models",
    "recording.models",
    "qa.models",
    "qa.sampling_models",
    "reports.models",
)


def load_all_models() -> type[Base]:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
