import subprocess
import sys

import numpy as np
import pytest

from flaxline.text.subwords import character_ngrams, subword_table


def test_ngrams_of_the_marked_word_shortest_first():
    assert character_ngrams("ab") == ["<ab", "ab>", "<ab>"]
    assert character_ngrams("warm")[:4] == ["<wa", "war", "arm", "rm>"]
    assert character_ngrams("aaaa", 3, 3) == ["<aa", "aaa", "aa>"]  # each n-gram once


def test_table_rows_hold_bucket_ids_then_zeros_and_special_tokens_none():
    table = subword_table(["[PAD]", "[UNK]", "ab", "unflinchingly"], buckets=50, width=6)
    assert table.shape == (4, 6) and table.dtype == np.int32
    assert not table[:2].any()
    assert (table[2, :3] > 0).all() and not table[2, 3:].any()
    assert (table[3] > 0).all() and table.max() < 50  # 36 n-grams: the 6 shortest are kept


@pytest.mark.slow
def test_the_same_buckets_in_every_process():
    code = "from flaxline.text.subwords import subword_table; print(subword_table(['warmly'], 1000, 8).tolist())"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert runs == {f"{subword_table(['warmly'], 1000, 8).tolist()}\n"}
