"""Benchmarks: the performance harness (``python -m benchmarks.run``) and comparisons.

See docs/performance.md for what is measured, how to run it and the latest numbers.
"""
