"""Distillation: a student of the zoo trained on the logits of a saved model of the task (the teacher)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
