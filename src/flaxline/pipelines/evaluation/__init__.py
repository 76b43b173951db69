"""Evaluating the network and the TF-IDF baseline on the test split, side by side."""
