"""The data_processing stage of rating tasks: checking the raw ratings, each kept or rejected with its reason."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
