"""Training a model of the zoo with the generic engine."""
