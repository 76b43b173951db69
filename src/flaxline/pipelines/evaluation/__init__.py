"""Evaluating the network and its scikit-learn baseline on the test split, side by side, for any task kind."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
