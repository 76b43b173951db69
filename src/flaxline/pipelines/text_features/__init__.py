"""The features stage of text tasks: a tokenizer fitted on the training split, and id arrays for every split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
