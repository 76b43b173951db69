"""The data-quality gate every cleaning stage ends with: the kept rows become the clean table only
if no rejection reason took more than its share of the raw rows."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
