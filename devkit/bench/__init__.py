"""Reproducible benchmarks behind `yuqing bench …`; their figures are in docs/benchmarks.md."""
