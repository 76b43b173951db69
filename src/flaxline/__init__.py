"""flaxline."""
