"""Fusion of saved model versions of a classification task, evaluated like one model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
