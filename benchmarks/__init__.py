"""Benchmarks (run by hand, never as timed tests): `python -m benchmarks.event_store`."""
