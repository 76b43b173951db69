import itertools

from flaxline.text.augment import MASK, augmented_copies

TEXTS = ["a charming and often affecting journey", "bleak and desperate", "fine", "the film is not good at all"]


def changed(**settings):
    options = {
        "copies": 3,
        "mask_probability": 0.0,
        "ngram_probability": 0.0,
        "max_ngram": 5,
        "join_probability": 0.0,
        "max_joins": 1,
    }
    return augmented_copies(TEXTS, **(options | settings), seed=0)


def test_masking_keeps_each_word_place():
    sources, copies = changed(mask_probability=1.0)
    assert list(sources) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    for source, copy in zip(sources, copies, strict=True):
        assert copy.split() == [MASK] * len(TEXTS[source].split())


def test_ngrams_are_runs_of_the_source_and_unchanged_copies_are_dropped():
    sources, copies = changed(ngram_probability=1.0, max_ngram=2)
    assert 2 not in sources  # a one-word text has no shorter n-gram
    for source, copy in zip(sources, copies, strict=True):
        assert 1 <= len(copy.split()) <= 2 and f" {copy} " in f" {TEXTS[source]} "


def test_joined_copies_end_with_another_text():
    sources, copies = changed(join_probability=1.0)
    assert len(copies) == 3 * len(TEXTS)
    for source, copy in zip(sources, copies, strict=True):
        head, tail = copy[: len(TEXTS[source])], copy[len(TEXTS[source]) + 1 :]
        assert head == TEXTS[source] and tail in TEXTS


def test_joins_continue_up_to_max_joins():
    sources, copies = changed(join_probability=1.0, max_joins=3)
    triples = {" ".join(triple) for triple in itertools.product(TEXTS, repeat=3)}
    assert len(copies) == 3 * len(TEXTS)
    for source, copy in zip(sources, copies, strict=True):
        assert copy.startswith(TEXTS[source] + " ") and copy[len(TEXTS[source]) + 1 :] in triples


def test_the_seed_fixes_the_copies():
    settings = {"mask_probability": 0.3, "ngram_probability": 0.5, "join_probability": 0.5}
    assert changed(**settings)[1] == changed(**settings)[1]
