"""Reading, validating and splitting tabular text data."""
