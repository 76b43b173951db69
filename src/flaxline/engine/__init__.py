"""The training engine: optimizers, the jit-compiled steps, batching and prediction."""
