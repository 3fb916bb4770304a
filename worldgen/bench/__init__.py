"""Temporal-consistency and structure benchmarks computed from frames and exact passes."""
