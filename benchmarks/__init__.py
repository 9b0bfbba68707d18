"""Benchmarks: each file runs alone (``python benchmarks/bench_X.py``) and prints a small table."""
