"""Smoke tests of the benchmarks (tiny numbers, no timing assertions)."""
