"""Recordings: the per-queue recording policy (``policy``), the ingestion worker and retention (``worker``,
in-process for the demo, ``arq_worker`` in production), storage backends (``storage``: a local folder or an
S3-compatible bucket), the read API and the HTTP endpoints with range playback (``service``, ``views``),
and audio analytics (talk, silence, overtalk: ``analytics``, ``vad``).

May import: ``core``, ``acd`` (call records, events, the MixMonitor command).
"""
