"""Benchmarks: each measures the project against a raw baseline in the same run."""
