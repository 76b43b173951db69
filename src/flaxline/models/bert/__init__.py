"""BERT-family encoders from Hugging Face checkpoints: the module (``modeling``), the mapping of checkpoint tensors
onto it (``params``) and where a checkpoint's folder is found (``weights``)."""
