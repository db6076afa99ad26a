"""Kernel and model benchmarks, measured as ratios against a baseline in the same run (BENCHMARKS.md)."""
