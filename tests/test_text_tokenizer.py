import numpy as np

from flaxline.text.tokenizer import PAD_ID, UNK_ID, choose_max_length, encode, fit_tokenizer, token_counts

TEXTS = ["The cat sat.", "the dog sat", "A cat, a dog!"]


def test_vocabulary_is_ordered_by_count_then_token_and_has_pad_and_unk():
    tokenizer = fit_tokenizer(TEXTS)
    vocab = tokenizer.get_vocab()
    assert vocab["[PAD]"] == PAD_ID and vocab["[UNK]"] == UNK_ID
    ranked = sorted((index, token) for token, index in vocab.items() if index > 1)
    assert [token for _, token in ranked[:4]] == ["a", "cat", "dog", "sat"]


def test_fitting_twice_gives_the_same_tokenizer():
    assert fit_tokenizer(TEXTS * 5).to_str() == fit_tokenizer(TEXTS * 5).to_str()


def test_round_trip_and_unknown_tokens():
    tokenizer = fit_tokenizer(TEXTS)
    ids, lengths = encode(tokenizer, ["The CAT sat", "a zebra"], max_length=8)
    assert ids.shape == (2, 8) and ids.dtype == np.int32
    assert lengths.tolist() == [3, 2]
    assert tokenizer.decode(ids[0, :3].tolist()) == "the cat sat"
    assert ids[1, 1] == UNK_ID and (ids[0, 3:] == PAD_ID).all()


def test_min_frequency_and_vocabulary_cap():
    assert "the" not in fit_tokenizer(TEXTS, min_frequency=3).get_vocab()
    assert fit_tokenizer(TEXTS, max_vocab_size=4).get_vocab_size() == 4


def test_truncation_and_length_choice():
    tokenizer = fit_tokenizer(["a b c d e f g h i j"])
    ids, lengths = encode(tokenizer, ["a b c d e f g h i j"], max_length=4)
    assert lengths.tolist() == [4] and tokenizer.decode(ids[0].tolist()) == "a b c d"
    assert token_counts(tokenizer, ["a b", "c"]).tolist() == [2, 1]
    counts = np.array([3] * 98 + [30, 40])
    assert choose_max_length(counts, 0.98, 8, 128) == 8
    assert choose_max_length(counts, 1.0, 8, 128) == 40
    assert choose_max_length(counts, 1.0, 8, 32) == 32
