"""The features stage of rating tasks: user and item id maps fitted on the training split, id arrays for every split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
