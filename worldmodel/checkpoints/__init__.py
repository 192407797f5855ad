"""Shipped checkpoints (package data); see README.md here."""
