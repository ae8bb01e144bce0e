"""Benchmark scripts that write the tables in ``benchmarks/results/``."""
