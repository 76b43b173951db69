"""Metrics, reports, figures and the scikit-learn baseline."""
