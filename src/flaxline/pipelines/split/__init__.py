"""Stratified train / validation / test split."""
