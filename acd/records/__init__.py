"""Durable call records of the telephony core: one row per call, its queue legs and ring attempts, filled
idempotently from AMI domain events, queue_log, CEL and CDR; and the replay report built on them."""

from __future__ import annotations

from acd.records.service import (
    IngestStats,
    infer_refusals,
    ingest_cdr,
    ingest_cel,
    ingest_events,
    ingest_queue_log,
)

__all__ = ["IngestStats", "infer_refusals", "ingest_cdr", "ingest_cel", "ingest_events", "ingest_queue_log"]
