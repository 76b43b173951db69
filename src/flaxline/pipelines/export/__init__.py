"""``<task>.export``: a saved model as StableHLO (jax.export) and ONNX, with a manifest, checked against the model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
