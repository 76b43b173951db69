"""The data_processing stage of image tasks: checking the raw images and rejecting the ones that cannot be used."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
