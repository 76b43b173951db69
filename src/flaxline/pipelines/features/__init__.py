"""Tokenizer fitted on the training split, and encoded id arrays for every split."""
