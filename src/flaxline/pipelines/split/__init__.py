"""Train / validation / test rows: stratified, or the data's own splits (validation carved from train when missing)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
