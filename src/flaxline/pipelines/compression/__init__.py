"""``<task>.compression``: int8 quantization and magnitude pruning of a saved model, each result a versioned model,
and a report of all of them side by side."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
