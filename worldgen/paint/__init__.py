"""Painters give the world its look. The procedural painter needs no weights."""
