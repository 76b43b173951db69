"""Making a trained model smaller and faster: int8 quantization (qwix) and magnitude pruning."""
