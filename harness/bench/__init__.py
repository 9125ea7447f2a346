"""Benchmarks: the lab's fixed models, per-device epoch timings, study throughput."""
