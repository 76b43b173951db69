import subprocess
import sys

import numpy as np
import pytest

from flaxline.errors import InputError
from flaxline.text.tokenizer import (
    PAD_ID,
    UNK_ID,
    TokenizerSpec,
    choose_max_length,
    encode,
    fit_tokenizer,
    token_counts,
)

TEXTS = ["The cat sat.", "the dog sat", "A cat, a dog!"]


def fitted(texts, **settings):
    """A tokenizer of every token seen, unless ``settings`` say otherwise."""
    return fit_tokenizer(texts, TokenizerSpec.model_validate({"min_frequency": 1, "max_vocab_size": None, **settings}))


def test_vocabulary_is_ordered_by_count_then_token_and_has_pad_and_unk():
    tokenizer = fitted(TEXTS)
    vocab = tokenizer.get_vocab()
    assert vocab["[PAD]"] == PAD_ID and vocab["[UNK]"] == UNK_ID
    ranked = sorted((index, token) for token, index in vocab.items() if index > 1)
    assert [token for _, token in ranked[:4]] == ["a", "cat", "dog", "sat"]


def test_fitting_twice_gives_the_same_tokenizer():
    assert fitted(TEXTS * 5).to_str() == fitted(TEXTS * 5).to_str()


def test_round_trip_and_unknown_tokens():
    tokenizer = fitted(TEXTS)
    ids, lengths = encode(tokenizer, ["The CAT sat", "a zebra"], max_length=8)
    assert ids.shape == (2, 8) and ids.dtype == np.int32
    assert lengths.tolist() == [3, 2]
    assert tokenizer.decode(ids[0, :3].tolist()) == "the cat sat"
    assert ids[1, 1] == UNK_ID and (ids[0, 3:] == PAD_ID).all()


def test_min_frequency_and_vocabulary_cap():
    assert "the" not in fitted(TEXTS, min_frequency=3).get_vocab()
    assert fitted(TEXTS, max_vocab_size=4).get_vocab_size() == 4


def test_truncation_and_length_choice():
    tokenizer = fitted(["a b c d e f g h i j"])
    ids, lengths = encode(tokenizer, ["a b c d e f g h i j"], max_length=4)
    assert lengths.tolist() == [4] and tokenizer.decode(ids[0].tolist()) == "a b c d"
    assert token_counts(tokenizer, ["a b", "c"]).tolist() == [2, 1]
    counts = np.array([3] * 98 + [30, 40])
    assert choose_max_length(counts, 0.98, 8, 128) == 8
    assert choose_max_length(counts, 1.0, 8, 128) == 40
    assert choose_max_length(counts, 1.0, 8, 32) == 32


SUBWORD_TEXTS = ["a warm film , quickly made", "slowly , sadly , warm", "the warmth of it", "kindly and warm"] * 20


def test_bpe_spells_unseen_words_from_known_pieces():
    tokenizer = fitted(SUBWORD_TEXTS, tokenizer_model="bpe", max_vocab_size=60, pre_tokenizer="whitespace_split")
    vocab = tokenizer.get_vocab()
    assert vocab["[PAD]"] == PAD_ID and vocab["[UNK]"] == UNK_ID and tokenizer.get_vocab_size() <= 60
    assert tokenizer.encode("warmly").tokens == ["warm", "ly"]
    ids, lengths = encode(tokenizer, ["a warmly made film", "zzz"], max_length=8)
    assert lengths.tolist() == [5, 1] and UNK_ID not in ids[0, :5] and ids[1, 0] == UNK_ID


@pytest.mark.slow
def test_bpe_fitting_gives_the_same_tokenizer_in_every_process():
    # HF's trainers iterate Rust hash maps seeded per process: only another process shows a tie broken by chance.
    script = (
        "import sys; from flaxline.text.tokenizer import TokenizerSpec, fit_tokenizer; "
        "texts = [line.strip() for line in sys.stdin]; "
        "spec = TokenizerSpec(tokenizer_model='bpe', max_vocab_size=300, min_frequency=1); "
        "print(fit_tokenizer(texts, spec).to_str())"
    )
    corpus = "\n".join(SUBWORD_TEXTS + [f"word{i} w{i % 7}x{i % 5} x{i}y" for i in range(200)])
    outputs = {
        subprocess.run([sys.executable, "-c", script], input=corpus, capture_output=True, text=True, check=True).stdout
        for _ in range(3)
    }
    assert len(outputs) == 1


def test_bad_tokenizer_settings_are_one_line_errors():
    with pytest.raises(InputError, match="^tokenizer_model: 'wordpiece' is not one of word, bpe, pretrained$"):
        fitted(TEXTS, tokenizer_model="wordpiece")
    with pytest.raises(InputError, match=r"^a bpe tokenizer needs max_vocab_size \(its target number of tokens\)$"):
        fitted(TEXTS, tokenizer_model="bpe")
