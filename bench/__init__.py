"""Benchmarks: each script prints its figures beside a baseline measured in the same run.

Run them from the checkout, `uv run python bench/<name>.py` (`--quick` for the smallest
run, which CI runs); docs/performance.md has the figures and the commands.
"""
