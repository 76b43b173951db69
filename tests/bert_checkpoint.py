"""A tiny random BERT saved as Hugging Face saves one (config.json, model.safetensors with PyTorch's names and
[out, in] Linear weights, a WordPiece tokenizer.json), and BERT's forward pass in numpy from those tensors alone."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from scipy.special import erf
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LETTERS = list(string.ascii_lowercase) + [f"##{letter}" for letter in string.ascii_lowercase]


def tiny_config(vocab_size: int, **overrides) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "pad_token_id": 0,
    } | overrides


def tiny_tensors(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Random tensors of every weight of ``config``'s BertModel, by PyTorch's names, [out, in] for Linear."""
    rng = np.random.default_rng(seed)
    hidden, inner = config["hidden_size"], config["intermediate_size"]

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": normal(config["vocab_size"], hidden),
        "embeddings.position_embeddings.weight": normal(config["max_position_embeddings"], hidden),
        "embeddings.token_type_embeddings.weight": normal(config["type_vocab_size"], hidden),
        "embeddings.LayerNorm.weight": 1 + normal(hidden),
        "embeddings.LayerNorm.bias": normal(hidden),
        "embeddings.position_ids": np.arange(config["max_position_embeddings"], dtype=np.int64)[None],
        "pooler.dense.weight": normal(hidden, hidden),
        "pooler.dense.bias": normal(hidden),
    }
    for layer in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for name in ("query", "key", "value"):
            tensors[f"{prefix}attention.self.{name}.weight"] = normal(hidden, hidden)
            tensors[f"{prefix}attention.self.{name}.bias"] = normal(hidden)
        for name, (out, into) in {
            "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (inner, hidden),
            "output.dense": (hidden, inner),
        }.items():
            tensors[f"{prefix}{name}.weight"] = normal(out, into)
            tensors[f"{prefix}{name}.bias"] = normal(out)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{prefix}{name}.weight"] = 1 + normal(hidden)
            tensors[f"{prefix}{name}.bias"] = normal(hidden)
    return tensors


def wordpiece_tokenizer(words: list[str]) -> Tokenizer:
    """BERT's uncased WordPiece tokenizer over the special tokens, ``words`` and single letters."""
    vocabulary = list(dict.fromkeys(SPECIAL + LETTERS + words))
    tokenizer = Tokenizer(models.WordPiece({token: index for index, token in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tokenizer


def write_checkpoint(folder: Path, words: list[str], seed: int = 0, **config_overrides) -> dict[str, np.ndarray]:
    """A tiny BERT folder as Hugging Face writes one; returns its tensors."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = wordpiece_tokenizer(words)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = tiny_config(tokenizer.get_vocab_size(), **config_overrides)
    (folder / "config.json").write_text(json.dumps(config))
    tensors = tiny_tensors(config, seed)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return tensors


def _norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean, variance = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * scale + bias


def reference_states(tensors: dict[str, np.ndarray], config: dict, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The last hidden states of BERT for ``ids`` [B, L] with ``lengths`` real tokens, in float64 numpy."""
    t = {name: value.astype(np.float64) for name, value in tensors.items()}
    batch, width = ids.shape
    heads = config["num_attention_heads"]
    size = config["hidden_size"] // heads

    def linear(x: np.ndarray, name: str) -> np.ndarray:
        return x @ t[f"{name}.weight"].T + t[f"{name}.bias"]

    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:width]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    x = _norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    real = np.arange(width)[None, :] < lengths[:, None]
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q, k, v = (
            linear(x, f"{p}attention.self.{n}").reshape(batch, width, heads, size) for n in ("query", "key", "value")
        )
        scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(size)
        scores = np.where(real[:, None, None, :], scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, width, heads * size)
        x = _norm(
            x + linear(attended, f"{p}attention.output.dense"),
            t[f"{p}attention.output.LayerNorm.weight"],
            t[f"{p}attention.output.LayerNorm.bias"],
        )
        inner = linear(x, f"{p}intermediate.dense")
        inner = 0.5 * inner * (1 + erf(inner / np.sqrt(2)))
        x = _norm(
            x + linear(inner, f"{p}output.dense"), t[f"{p}output.LayerNorm.weight"], t[f"{p}output.LayerNorm.bias"]
        )
    return x
