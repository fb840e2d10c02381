"""Benchmarks, run on demand: `python -m benchmarks` runs every bench_*.py (or `make bench`)."""
