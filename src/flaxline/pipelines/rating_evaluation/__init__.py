"""The evaluation stage of rating tasks: errors and ranking on the test split beside the biases baseline,
figures, and top-N recommendations for a few users."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
