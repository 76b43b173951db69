"""The split stage of rating tasks: the data's own splits, a seeded random split, or by time per user."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
