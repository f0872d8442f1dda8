"""Helpers of `scripts/bench.py`: server processes, API set-up, statistics, workloads.

Benchmark-only code: nothing in `app/` imports it, and it never edits the application.
"""
