"""Simulated districts, coaches and state team, and the demo's story played with them."""
