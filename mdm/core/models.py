"""Core has no tables of its own; it holds shared building blocks (see history.py)."""
