"""What the evaluation of image tasks adds: a figure of the misclassified test images."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
