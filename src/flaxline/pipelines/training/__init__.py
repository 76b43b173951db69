"""Training a model of the zoo with the engine, for any task kind."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
