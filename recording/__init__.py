"""Recordings: the per-queue recording policy, the ingestion worker, storage backends and audio
analytics (talk, silence, overtalk).

May import: ``core``; sends MixMonitor commands through ``acd``'s command API. (Filled by the
recordings issue.)
"""
