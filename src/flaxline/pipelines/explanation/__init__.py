"""The explanation stage of classification tasks: integrated gradients of the test predictions."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
