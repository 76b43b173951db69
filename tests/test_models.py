import pickle

import jax.numpy as jnp
import numpy as np
import pytest

from flaxline.errors import InputError
from flaxline.models import MODELS, build_model
from flaxline.models.serialization import model_from_bytes, model_to_bytes

SIZES = {"vocab_size": 40, "num_classes": 3, "seed": 1}
# Spellings for the subword variants: words sharing pieces ("dull", "dullness", "dulled").
VOCABULARY = ["[PAD]", "[UNK]"] + [f"{stem}{suffix}" for stem in ("dull", "warm", "bright", "slow", "grim") for suffix in ("", "ly", "ness", "er", "est", "ed", "ing", "s")][:38]
CONFIG = {"name": "lstm", **SIZES, "embed_dim": 8, "hidden_dim": 12}
IDS = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], dtype=np.int32)
LENGTHS = np.array([3, 2], dtype=np.int32)


def build(**overrides):
    config = {**CONFIG, **overrides}
    return build_model(config.pop("name"), **config)


VARIANTS = [
    {"name": "lstm"},
    {"name": "lstm", "pooling": "mean"},
    {"name": "lstm", "pooling": "max"},
    {"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 16},
    {"name": "transformer", "dim": 16, "heads": 2, "layers": 2, "mlp_dim": 32, "max_length": 32},
    {"name": "transformer", "dim": 16, "heads": 2, "layers": 1, "mlp_dim": 32, "max_length": 32, "pooling": "cls"},
    {"name": "cnn", "embed_dim": 8, "filters": 6, "widths": [2, 3, 5]},
    {"name": "lstm", "subword_buckets": 64},
    {"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 16, "subword_buckets": 64},
    {"name": "transformer", "dim": 16, "heads": 2, "layers": 1, "mlp_dim": 32, "max_length": 32, "subword_buckets": 64},
    {"name": "cnn", "embed_dim": 8, "filters": 6, "widths": [2, 3], "subword_buckets": 64},
    {"name": "ensemble", "size": 2, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 12}},
    {"name": "ensemble", "size": 3, "member": {"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 16}},
]


def test_every_model_has_a_variant_under_test():
    assert {variant["name"] for variant in VARIANTS} == set(MODELS)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(str(value.get("name") if isinstance(value, dict) else value) for value in v.values()))
def test_logits_shape_and_padding_never_changes_them(variant):
    model = build_model(**SIZES, **variant, vocabulary=VOCABULARY)
    model.eval()
    logits = model(IDS, LENGTHS)
    assert logits.shape == (2, 3)
    longer = np.pad(IDS, ((0, 0), (0, 12)))
    np.testing.assert_allclose(model(longer, LENGTHS), logits, rtol=1e-5, atol=1e-6)
    garbage_in_padding = longer.copy()
    garbage_in_padding[:, 4:] = 13
    np.testing.assert_allclose(model(garbage_in_padding, LENGTHS), logits, rtol=1e-5, atol=1e-6)


def test_the_seed_decides_the_initialisation():
    first, again, other = build(seed=1), build(seed=1), build(seed=2)
    assert jnp.array_equal(first.embed.embedding[...], again.embed.embedding[...])
    assert not jnp.array_equal(first.embed.embedding[...], other.embed.embedding[...])


def test_unknown_model_and_bad_arguments_are_one_line_errors():
    with pytest.raises(InputError, match="unknown model 'gru'; known models: bilstm_attention, cnn, ensemble, lstm, transformer"):
        build_model("gru", vocab_size=3, num_classes=2)
    with pytest.raises(InputError, match="model 'lstm':.*hidden"):
        build_model("lstm", vocab_size=3, num_classes=2, hidden=4)


def test_saved_model_round_trips_exactly():
    model = build()
    model.eval()
    restored, config = model_from_bytes(model_to_bytes(model, CONFIG), "model.safetensors")
    restored.eval()
    assert config == CONFIG
    np.testing.assert_array_equal(restored(IDS, LENGTHS), model(IDS, LENGTHS))


def test_saving_is_byte_for_byte_deterministic():
    assert model_to_bytes(build(), CONFIG) == model_to_bytes(build(), CONFIG)


def test_truncated_tampered_or_mismatched_files_are_refused():
    data = model_to_bytes(build(), CONFIG)
    with pytest.raises(InputError, match="m.st: truncated safetensors file"):
        model_from_bytes(data[:100], "m.st")
    with pytest.raises(InputError, match="m.st: not a safetensors file"):
        model_from_bytes(data[:5], "m.st")
    with pytest.raises(InputError, match="m.st: corrupt model file"):
        model_from_bytes(data[:-10], "m.st")
    mismatched = model_to_bytes(build(vocab_size=41), {**CONFIG, "vocab_size": 41}).replace(b'\\"vocab_size\\": 41', b'\\"vocab_size\\": 40')
    with pytest.raises(InputError, match=r"m.st: tensor 'embed.embedding' is float32\[41, 8\] but the config expects float32\[40, 8\]"):
        model_from_bytes(mismatched, "m.st")


def test_a_pickle_is_refused_without_being_executed(tmp_path):
    marker = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    with pytest.raises(InputError, match="m.st: not a safetensors file"):
        model_from_bytes(pickle.dumps(Exploit()), "m.st")
    assert not marker.exists()


ENSEMBLE = {"name": "ensemble", **SIZES, "size": 3, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 12}}


def test_an_ensemble_trains_on_its_members_logits_and_predicts_their_mean_probability():
    config = dict(ENSEMBLE)
    model = build_model(config.pop("name"), **config)
    members = model(IDS, LENGTHS)
    assert members.shape == (3, 2, 3)
    assert not np.allclose(members[0], members[1])  # each member has its own initialisation
    model.eval()
    mean_probability = np.mean([np.exp(member - np.log(np.exp(member).sum(-1, keepdims=True))) for member in members], axis=0)
    np.testing.assert_allclose(np.exp(model(IDS, LENGTHS)), mean_probability, rtol=1e-5)
    restored, saved = model_from_bytes(model_to_bytes(model, ENSEMBLE), "ensemble.safetensors")
    restored.eval()
    assert saved == ENSEMBLE
    np.testing.assert_array_equal(restored(IDS, LENGTHS), model(IDS, LENGTHS))
    np.testing.assert_allclose(model.for_inference()(IDS, LENGTHS), model(IDS, LENGTHS), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": 1, "member": {"name": "lstm"}}, "size must be an integer of at least 2, not 1"),
        ({"size": 2, "member": {"name": "ensemble"}}, "member must name a zoo model other than ensemble, not 'ensemble'"),
        ({"size": 2, "member": {"name": "lstm", "hidden": 3}}, "hidden"),
    ],
)
def test_bad_ensembles_are_one_line_errors(arguments, message):
    with pytest.raises(InputError, match=f"model 'ensemble':.*{message}"):
        build_model("ensemble", vocab_size=5, num_classes=2, **arguments)


SUBWORDS = {**CONFIG, "subword_buckets": 64}


def test_subword_vectors_come_from_the_spelling_and_travel_with_the_saved_model():
    config = dict(SUBWORDS)
    model = build_model(config.pop("name"), **config, vocabulary=VOCABULARY)
    blank = build(subword_buckets=64)  # same initialisation, no spelling attached
    model.eval()
    blank.eval()
    assert not np.allclose(model(IDS, LENGTHS), blank(IDS, LENGTHS))
    restored, saved = model_from_bytes(model_to_bytes(model, SUBWORDS), "subwords.safetensors")
    restored.eval()
    assert saved == SUBWORDS
    np.testing.assert_array_equal(restored.embed.subword_table[...], model.embed.subword_table[...])
    np.testing.assert_array_equal(restored(IDS, LENGTHS), model(IDS, LENGTHS))
    # The looked-up input projections of inference include the subword part.
    np.testing.assert_allclose(model.for_inference()(IDS, LENGTHS), model(IDS, LENGTHS), rtol=1e-5, atol=1e-6)


def test_words_sharing_pieces_share_subword_vectors():
    model = build(subword_buckets=64, vocabulary=VOCABULARY)
    table = np.asarray(model.embed.subword_table[...])
    dull, dullness, grim = (VOCABULARY.index(word) for word in ("dull", "dullness", "grim"))
    assert set(table[dull][table[dull] > 0]) & set(table[dullness][table[dullness] > 0])
    assert not table[0].any() and not table[1].any()  # [PAD] and [UNK] have no spelling
    assert len(set(table[dull][table[dull] > 0]) & set(table[grim][table[grim] > 0])) < len(set(table[dull][table[dull] > 0]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subword_buckets": 1}, "subword_buckets must be 0 .off. or an integer of at least 2, not 1"),
        ({"subword_buckets": 64, "vocabulary": ["[PAD]", "[UNK]", "dull"]}, "vocabulary of 3 tokens for an embedding of 40"),
    ],
)
def test_bad_subword_settings_are_one_line_errors(overrides, message):
    with pytest.raises(InputError, match=f"^model 'lstm': {message}$"):
        build(**overrides)
