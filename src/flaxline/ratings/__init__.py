"""Rating prediction: reading GroupLens ratings, cleaning, splitting, id maps, metrics and the biases baseline."""
