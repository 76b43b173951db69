"""Training a model of the zoo with the generic engine."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
