"""Cross-validation of a classification task: the kind's features, training and evaluation stages on every fold."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
