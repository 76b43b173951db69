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
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE, WordLevel
from tokenizers.trainers import BpeTrainer

from flaxline.config import Settings
from flaxline.errors import InputError
from flaxline.inputs import Encoding, TokenInputs

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


def _normalizer(lowercase: bool) -> normalizers.Normalizer:
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    return normalizers.Sequence(steps)


PRE_TOKENIZERS = {
    "whitespace": pre_tokenizers.Whitespace,  # words and runs of punctuation: "don't!" → don ' t !
    "whitespace_split": pre_tokenizers.WhitespaceSplit,  # whitespace only: "don't!" → don't!
}


class TokenizerSpec(Settings):
    """The tokenizer fitted on the training texts, and the padded length of the id arrays."""

    lowercase: bool = True
    pre_tokenizer: Literal["whitespace", "whitespace_split"] = Field(
        "whitespace",
        description="whitespace: words and runs of punctuation apart (don't! → don ' t !); "
        "whitespace_split: spaces only",
    )
    tokenizer_model: Literal["word", "bpe", "pretrained"] = Field(
        "word",
        description="word: one id per word; bpe: subwords, unseen words spelt from known pieces; pretrained: the "
        "tokenizer of the checkpoint `pretrained` names, [CLS] … [SEP] (lowercase, pre_tokenizer and the sizes "
        "are its own)",
    )
    pretrained: str = Field(
        "minilm", description="pretrained only: the checkpoint, as a pretrained_encoder's weights name it"
    )
    min_frequency: PositiveInt = Field(
        2, description="tokens seen fewer times in train become [UNK] (bpe: pairs merged at least this often)"
    )
    max_vocab_size: PositiveInt | None = Field(50000, description="at most this many tokens (bpe: its target size)")
    length_quantile: float = Field(
        0.99, gt=0.0, le=1.0, description="the padded length covers this share of the training texts ..."
    )
    length_multiple: PositiveInt = Field(8, description="... rounded up to a multiple of this ...")
    max_length: PositiveInt = Field(128, description="... and never above this")

    @model_validator(mode="after")
    def _bpe_has_a_size(self) -> TokenizerSpec:
        if self.tokenizer_model == "bpe" and self.max_vocab_size is None:
            raise ValueError("a bpe tokenizer needs max_vocab_size (its target number of tokens)")
        return self


def fit_tokenizer(texts: Iterable[str], spec: TokenizerSpec) -> Tokenizer:
    """Fit a tokenizer: ``[PAD]`` = 0, ``[UNK]`` = 1, then the vocabulary.

    ``word`` gives one id per word seen ``min_frequency`` times, by frequency; ``bpe`` learns
    byte-pair-encoding subwords from ``texts`` until ``max_vocab_size`` tokens or no pair occurs
    ``min_frequency`` times, and spells words unseen in training from known pieces ("warmly" → warm
    ly) instead of mapping them to ``[UNK]``.
    """
    normalizer = _normalizer(spec.lowercase)
    splitter = PRE_TOKENIZERS[spec.pre_tokenizer]()
    if spec.tokenizer_model == "bpe":
        tokenizer = Tokenizer(BPE(unk_token=UNK_TOKEN, fuse_unk=True))
        tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, splitter
        assert spec.max_vocab_size is not None  # the spec refuses bpe without it
        trainer = BpeTrainer(
            vocab_size=spec.max_vocab_size,
            min_frequency=spec.min_frequency,
            special_tokens=[PAD_TOKEN, UNK_TOKEN],
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer)
        return tokenizer
    counts = Counter(token for text in texts for token, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    ranked = sorted((item for item in counts.items() if item[1] >= spec.min_frequency), key=lambda kv: (-kv[1], kv[0]))
    if spec.max_vocab_size is not None:
        ranked = ranked[: spec.max_vocab_size - 2]
    vocab = {PAD_TOKEN: PAD_ID, UNK_TOKEN: UNK_ID}
    vocab.update({token: index for index, (token, _) in enumerate(ranked, start=2)})
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    return tokenizer


def pretrained_tokenizer(weights: str) -> Tokenizer:
    """The tokenizer of the checkpoint ``weights`` names (``flaxline.models.bert.weights``), checked against the
    checkpoint's vocabulary size."""
    # Imported here: the models' package imports this one (subword embeddings spell its tokens).
    from flaxline.models.bert.weights import architecture, tokenizer_file, weights_folder

    folder = weights_folder(weights)
    path = tokenizer_file(folder)
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises its own untyped Exception for a malformed file
        raise InputError(f"{path}: not a Hugging Face tokenizer ({str(error).splitlines()[0]})") from None
    embedded = architecture(folder).vocab_size
    if tokenizer.get_vocab_size() != embedded:
        raise InputError(
            f"{path}: {tokenizer.get_vocab_size()} tokens, but the checkpoint's config.json embeds {embedded}"
        )
    return tokenizer


def fit_encoding(texts: Sequence[str], spec: TokenizerSpec, outputs: int) -> tuple[Tokenizer, Encoding]:
    """The tokenizer fitted on ``texts`` (or the checkpoint's own) and the encoding it gives a model of ``outputs``
    outputs: the vocabulary and the padded length."""
    tokenizer = (
        pretrained_tokenizer(spec.pretrained) if spec.tokenizer_model == "pretrained" else fit_tokenizer(texts, spec)
    )
    counts = token_counts(tokenizer, texts)
    max_length = choose_max_length(counts, spec.length_quantile, spec.length_multiple, spec.max_length)
    encoding = Encoding(
        inputs=TokenInputs(vocab_size=tokenizer.get_vocab_size(), vocabulary=tuple(vocabulary(tokenizer))),
        outputs=outputs,
        token_arrays=("ids",),
        max_length=max_length,
        statistics={
            "truncated_train_texts": int((counts > max_length).sum()),
            "mean_train_tokens": float(counts.mean()),
        },
    )
    return tokenizer, encoding


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
