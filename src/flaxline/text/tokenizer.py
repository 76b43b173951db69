"""Word-level or subword (BPE) tokenizers built with HF ``tokenizers``, fitted deterministically.

HF's WordLevel and WordPiece trainers order tokens of equal count by hash-map iteration,
which differs from run to run; the word vocabulary is therefore counted here (ids by
descending count, then by the token) and handed to a ``WordLevel`` model. HF's BPE trainer
sorts its alphabet and breaks ties by the pair, so its vocabulary and merges are the same in
every process (tested); pieces are not marked as word-internal (``##``), because the trainer
numbers marked pieces in hash-map order. Either way the tokenizer is a plain HF JSON file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE, WordLevel
from tokenizers.trainers import BpeTrainer

from flaxline.errors import InputError

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


def _normalizer(lowercase: bool) -> normalizers.Normalizer:
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    return normalizers.Sequence(steps)


PRE_TOKENIZERS = {
    "whitespace": pre_tokenizers.Whitespace,  # words and runs of punctuation: "don't!" → don ' t !
    "whitespace_split": pre_tokenizers.WhitespaceSplit,  # whitespace only: "don't!" → don't!
}


def check_tokenizer_settings(pre_tokenizer: str, model: str, max_vocab_size: int | None) -> None:
    """Raise the one-line error ``fit_tokenizer`` would raise for these settings, without any text."""
    if pre_tokenizer not in PRE_TOKENIZERS:
        raise InputError(f"unknown pre_tokenizer '{pre_tokenizer}'; known: {', '.join(PRE_TOKENIZERS)}")
    if model not in ("word", "bpe"):
        raise InputError(f"unknown tokenizer model '{model}'; known: word, bpe")
    if model == "bpe" and max_vocab_size is None:
        raise InputError("a bpe tokenizer needs max_vocab_size (its target number of tokens)")


def fit_tokenizer(
    texts: Iterable[str],
    *,
    lowercase: bool = True,
    min_frequency: int = 1,
    max_vocab_size: int | None = None,
    pre_tokenizer: str = "whitespace",
    model: str = "word",
) -> Tokenizer:
    """Fit a tokenizer: ``[PAD]`` = 0, ``[UNK]`` = 1, then the vocabulary.

    ``model`` is ``word`` (one id per word seen ``min_frequency`` times, by frequency) or
    ``bpe`` (byte-pair-encoding subwords learnt from ``texts`` until ``max_vocab_size`` tokens or
    no pair occurs ``min_frequency`` times), which spells words unseen in training from known
    pieces ("warmly" → warm ly) instead of mapping them to ``[UNK]``.
    """
    check_tokenizer_settings(pre_tokenizer, model, max_vocab_size)
    normalizer = _normalizer(lowercase)
    splitter = PRE_TOKENIZERS[pre_tokenizer]()
    if model == "bpe":
        tokenizer = Tokenizer(BPE(unk_token=UNK_TOKEN, fuse_unk=True))
        tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, splitter
        assert max_vocab_size is not None  # check_tokenizer_settings refuses bpe without it
        trainer = BpeTrainer(
            vocab_size=max_vocab_size,
            min_frequency=min_frequency,
            special_tokens=[PAD_TOKEN, UNK_TOKEN],
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer)
        return tokenizer
    counts = Counter(token for text in texts for token, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    ranked = sorted((item for item in counts.items() if item[1] >= min_frequency), key=lambda kv: (-kv[1], kv[0]))
    if max_vocab_size is not None:
        ranked = ranked[: max_vocab_size - 2]
    vocab = {PAD_TOKEN: PAD_ID, UNK_TOKEN: UNK_ID}
    vocab.update({token: index for index, (token, _) in enumerate(ranked, start=2)})
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    return tokenizer


def vocabulary(tokenizer: Tokenizer) -> list[str]:
    """The tokenizer's tokens in the order of their ids."""
    return [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]


def token_counts(tokenizer: Tokenizer, texts: Sequence[str]) -> np.ndarray:
    """Number of tokens of each text, before any truncation."""
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return np.fromiter((len(e.ids) for e in tokenizer.encode_batch(list(texts))), dtype=np.int32, count=len(texts))


def choose_max_length(counts: np.ndarray, quantile: float, multiple: int, cap: int) -> int:
    """The ``quantile`` of the token counts, rounded up to ``multiple``, at most ``cap``."""
    covering = float(np.quantile(counts, quantile)) if len(counts) else 1.0
    return int(min(cap, max(multiple, multiple * math.ceil(covering / multiple))))


def encode(tokenizer: Tokenizer, texts: Sequence[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids right-padded with ``[PAD]`` to ``max_length`` (int32 [N, L]) and lengths (int32 [N])."""
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=PAD_ID, pad_token=PAD_TOKEN, length=max_length)
    encodings = tokenizer.encode_batch(list(texts))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    ids = np.asarray([e.ids for e in encodings], dtype=np.int32).reshape(len(encodings), max_length)
    lengths = np.asarray([sum(e.attention_mask) for e in encodings], dtype=np.int32)
    return ids, lengths
