"""Evaluating the network and the TF-IDF baseline on the test split, side by side."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
