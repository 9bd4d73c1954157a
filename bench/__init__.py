"""Benchmarks of the session service (not part of the test suite); see docs/performance.md."""
