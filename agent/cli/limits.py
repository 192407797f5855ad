"""Bounds of what the command line accepts, checked before anything runs."""

MAX_SEED = 2**63 - 1
"""the largest seed SQLite can store with its episode (a signed 64-bit integer)"""
