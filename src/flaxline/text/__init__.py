"""Text cleaning and tokenization."""
