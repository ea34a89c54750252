"""Benchmarks: each ``python -m bench.<name>`` prints its figures and ends with one JSON line."""
