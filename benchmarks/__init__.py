"""Benchmarks: a generated dataset at chosen sizes and the timings taken on it."""
