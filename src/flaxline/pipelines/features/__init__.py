"""Tokenizer fitted on the training split, and encoded id arrays for every split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
