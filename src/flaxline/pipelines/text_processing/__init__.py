"""The data_processing stage of text tasks: reading, checking and cleaning the raw labelled texts."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
