"""The features stage of image tasks: per-channel statistics of the training images, and pixel arrays for every
split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
