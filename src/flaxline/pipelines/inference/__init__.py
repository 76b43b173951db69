"""``<task>.inference``: new raw rows scored by a saved model, through the training's own cleaning and features."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
