import pickle
import typing

import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import TypeAdapter

from flaxline.errors import InputError
from flaxline.models import MODELS, ModelConfig, ModelSpec, build_model
from flaxline.models.serialization import model_from_bytes, model_to_bytes

# Spellings for the subword variants: words sharing pieces ("dull", "dullness", "dulled").
VOCABULARY = ["[PAD]", "[UNK]"] + [
    f"{stem}{suffix}"
    for stem in ("dull", "warm", "bright", "slow", "grim")
    for suffix in ("", "ly", "ness", "er", "est", "ed", "ing", "s")
][:38]
TOKENS = {"type": "tokens", "vocab_size": 40}
IMAGES = {"type": "images", "shape": [8, 8, 1], "mean": [4.0], "std": [5.0]}
LSTM = {"name": "lstm", "embed_dim": 8, "hidden_dim": 12}
BATCH = {"ids": np.array([[5, 6, 7, 0], [8, 9, 0, 0]], dtype=np.int32), "lengths": np.array([3, 2], dtype=np.int32)}
PIXELS = {"images": np.random.default_rng(0).integers(0, 17, (3, 8, 8, 1)).astype(np.uint8)}


def config(model: dict, inputs: dict = TOKENS, seed: int = 1, vocabulary=None) -> ModelConfig:
    inputs = inputs | ({"vocabulary": vocabulary} if vocabulary is not None else {})
    return ModelConfig.model_validate({"model": model, "inputs": inputs, "outputs": 3, "seed": seed})


def build(**overrides):
    return build_model(config(LSTM | overrides))


# An architecture as a checkpoint's config.json gives it (tests/test_models_pretrained.py loads real checkpoints).
TINY_BERT = {
    "vocab_size": 40,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 32,
}
TEXT_VARIANTS = [
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
    {"name": "pretrained_encoder", "architecture": TINY_BERT},
    {"name": "pretrained_encoder", "architecture": TINY_BERT, "pooling": "cls", "dropout": 0.2},
    {"name": "ensemble", "size": 2, "member": LSTM},
    {
        "name": "ensemble",
        "size": 3,
        "member": {"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 16},
    },
]
IMAGE_VARIANTS = [
    {"name": "cnn2d", "channels": [4, 8], "dense_dim": 16},
    {"name": "cnn2d", "channels": [4, 8, 8, 8], "convs_per_block": 1, "dense_dim": 16},  # pools past 1 pixel
    {"name": "resnet", "widths": [4, 8], "blocks_per_stage": 1, "groups": 2},
    {"name": "ensemble", "size": 2, "member": {"name": "cnn2d", "channels": [4], "dense_dim": 8}},
]


RATINGS = {"type": "ratings", "users": 6, "items": 9, "user_days": 4, "global_mean": 3.5, "scale": [0.5, 5.0]}
PAIRS = {
    name: np.array(ids, np.int32)
    for name, ids in (("users", [1, 5, 0]), ("items", [2, 0, 8]), ("user_days", [3, 0, 0]))
}
RATING_VARIANTS = [
    {"name": "biased_mf", "factors": 4},
    {"name": "biased_mf", "factors": 4, "day_bias": False, "shrinkage": 10.0},
    {"name": "neural_cf", "embed_dim": 4, "mlp": [8], "factors": 4},
    {"name": "neural_cf", "embed_dim": 4, "mlp": [8, 4], "fuse_mf": False},
]


def variant_id(variant: dict) -> str:
    return "-".join(str(value.get("name") if isinstance(value, dict) else value) for value in variant.values())


def test_every_model_has_a_variant_under_test_and_is_a_choice_of_the_settings():
    assert {variant["name"] for variant in TEXT_VARIANTS + IMAGE_VARIANTS + RATING_VARIANTS} == set(MODELS)
    union = typing.get_args(typing.get_args(ModelSpec)[0])
    assert {spec.model_fields["name"].default for spec in union} == set(MODELS)


@pytest.mark.parametrize("variant", TEXT_VARIANTS, ids=variant_id)
def test_logits_shape_and_padding_never_change_them_nor_does_the_inference_variant(variant):
    model = build_model(config(LSTM | variant if variant["name"] == "lstm" else variant, vocabulary=VOCABULARY))
    model.eval()
    logits = model(BATCH)
    assert logits.shape == (2, 3)
    longer = np.pad(BATCH["ids"], ((0, 0), (0, 12)))
    np.testing.assert_allclose(model(BATCH | {"ids": longer}), logits, rtol=1e-5, atol=1e-6)
    longer[:, 4:] = 13  # garbage in the padding
    np.testing.assert_allclose(model(BATCH | {"ids": longer}), logits, rtol=1e-5, atol=1e-6)
    # The inference variant (looked-up input projections where a model has them) is the same function.
    np.testing.assert_allclose(model.for_inference()(BATCH | {"ids": longer}), logits, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", IMAGE_VARIANTS, ids=variant_id)
def test_image_models_give_logits_and_round_trip(variant):
    described = config(variant, IMAGES)
    model = build_model(described)
    model.eval()
    logits = model(PIXELS)
    assert logits.shape == (3, 3) and np.isfinite(logits).all()
    restored, saved = model_from_bytes(model_to_bytes(model, described), "images.safetensors")
    restored.eval()
    assert saved == described
    np.testing.assert_array_equal(restored(PIXELS), logits)


@pytest.mark.parametrize("variant", RATING_VARIANTS, ids=variant_id)
def test_rating_models_predict_a_rating_and_its_penalty_and_round_trip(variant):
    described = ModelConfig.model_validate({"model": variant, "inputs": RATINGS, "outputs": 1})
    model = build_model(described)
    model.eval()
    outputs = model(PAIRS)
    assert set(outputs) == {"rating", "penalty"} and outputs["rating"].shape == (3,) and (outputs["penalty"] >= 0).all()
    restored, saved = model_from_bytes(model_to_bytes(model, described), "ratings.safetensors")
    restored.eval()
    assert saved == described
    np.testing.assert_array_equal(restored(PAIRS)["rating"], outputs["rating"])


def test_augmentation_changes_training_passes_only():
    augmented = build_model(
        config({"name": "cnn2d", "channels": [4], "augmentation": {"shift": 2.0, "rotation": 20.0}}, IMAGES)
    )
    plain = build_model(config({"name": "cnn2d", "channels": [4]}, IMAGES))
    for model in (augmented, plain):
        model.eval()
    np.testing.assert_array_equal(augmented(PIXELS), plain(PIXELS))  # same seed: augmentation draws no parameters
    augmented.train()
    augmented.dropout.deterministic = plain.dropout.deterministic = True
    assert not np.allclose(augmented(PIXELS), augmented(PIXELS))  # a new draw each pass


def test_a_text_model_refuses_image_inputs():
    with pytest.raises(InputError, match="^model 'lstm' reads tokens, but this task's inputs are images$"):
        build_model(config(LSTM, IMAGES))


def test_the_seed_decides_the_initialisation():
    first, again, other = (build_model(config(LSTM, seed=seed)) for seed in (1, 1, 2))
    assert jnp.array_equal(first.embed.embedding[...], again.embed.embedding[...])
    assert not jnp.array_equal(first.embed.embedding[...], other.embed.embedding[...])


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            {"name": "gru"},
            "model: unknown name 'gru'; known: lstm, bilstm_attention, transformer, pretrained_encoder, cnn, cnn2d, "
            "resnet, biased_mf, neural_cf, ensemble",
        ),
        (LSTM | {"hidden": 4}, "model: unknown setting 'hidden' of lstm; known: name, embed_dim, hidden_dim"),
        (LSTM | {"pooling": "avg"}, "model.pooling: 'avg' is not one of last, mean, max"),
        (LSTM | {"subword_buckets": 1}, r"model.subword_buckets: must be 0 \(off\) or at least 2, not 1"),
        ({"name": "transformer", "dim": 10, "heads": 3}, "model: dim 10 does not split into 3 heads"),
        ({"name": "cnn", "widths": []}, "model.widths: tuple should have at least 1 item"),
        (
            {"name": "ensemble", "size": 1, "member": LSTM},
            "model.size: input should be greater than or equal to 2, not 1",
        ),
        (
            {"name": "ensemble", "size": 2, "member": {"name": "ensemble"}},
            "model.member: unknown name 'ensemble'; known: lstm",
        ),
        (
            {"name": "ensemble", "size": 2, "member": LSTM | {"hidden": 3}},
            "model.member: unknown setting 'hidden' of lstm",
        ),
    ],
)
def test_bad_model_settings_are_one_line_naming_the_key(model, message):
    with pytest.raises(InputError) as raised:
        config(model)
    assert "\n" not in str(raised.value)
    assert raised.match(f"^{message}")


def test_saved_model_round_trips_exactly_and_byte_for_byte():
    model = build()
    model.eval()
    restored, described = model_from_bytes(model_to_bytes(model, config(LSTM)), "model.safetensors")
    restored.eval()
    assert described == config(LSTM)
    np.testing.assert_array_equal(restored(BATCH), model(BATCH))
    assert model_to_bytes(build(), config(LSTM)) == model_to_bytes(build(), config(LSTM))


def test_truncated_tampered_or_mismatched_files_are_refused():
    data = model_to_bytes(build(), config(LSTM))
    with pytest.raises(InputError, match="m.st: truncated safetensors file"):
        model_from_bytes(data[:100], "m.st")
    with pytest.raises(InputError, match="m.st: not a safetensors file"):
        model_from_bytes(data[:5], "m.st")
    with pytest.raises(InputError, match="m.st: corrupt model file"):
        model_from_bytes(data[:-10], "m.st")
    bigger = config(LSTM, inputs=TOKENS | {"vocab_size": 41})
    mismatched = model_to_bytes(build_model(bigger), bigger).replace(b'\\"vocab_size\\": 41', b'\\"vocab_size\\": 40')
    with pytest.raises(
        InputError, match=r"m.st: tensor 'embed.embedding' is float32\[41, 8\] but the config expects float32\[40, 8\]"
    ):
        model_from_bytes(mismatched, "m.st")
    unknown = data.replace(b'\\"name\\": \\"lstm\\"', b'\\"name\\": \\"gru1\\"')
    with pytest.raises(InputError, match=r"^m.st: model configuration: model: unknown name 'gru1'"):
        model_from_bytes(unknown, "m.st")


def test_a_pickle_is_refused_without_being_executed(tmp_path):
    marker = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    with pytest.raises(InputError, match="m.st: not a safetensors file"):
        model_from_bytes(pickle.dumps(Exploit()), "m.st")
    assert not marker.exists()


ENSEMBLE = {"name": "ensemble", "size": 3, "member": LSTM}


def test_an_ensemble_trains_on_its_members_logits_and_predicts_their_mean_probability():
    described = config(ENSEMBLE)
    model = build_model(described)
    members = model(BATCH)
    assert members.shape == (3, 2, 3)
    assert not np.allclose(members[0], members[1])  # each member has its own initialisation
    model.eval()
    mean_probability = np.mean(
        [np.exp(member - np.log(np.exp(member).sum(-1, keepdims=True))) for member in members], axis=0
    )
    np.testing.assert_allclose(np.exp(model(BATCH)), mean_probability, rtol=1e-5)
    restored, saved = model_from_bytes(model_to_bytes(model, described), "ensemble.safetensors")
    restored.eval()
    assert saved == described
    np.testing.assert_array_equal(restored(BATCH), model(BATCH))
    np.testing.assert_allclose(model.for_inference()(BATCH), model(BATCH), rtol=1e-5, atol=1e-6)


SUBWORDS = LSTM | {"subword_buckets": 64}


def test_subword_vectors_come_from_the_spelling_and_travel_with_the_saved_model():
    described = config(SUBWORDS, vocabulary=VOCABULARY)
    model = build_model(described)
    blank = build_model(config(SUBWORDS))  # same initialisation, no spelling
    model.eval()
    blank.eval()
    assert not np.allclose(model(BATCH), blank(BATCH))
    restored, saved = model_from_bytes(model_to_bytes(model, described), "subwords.safetensors")
    restored.eval()
    assert saved == config(SUBWORDS) and saved.inputs.vocabulary is None  # the spelling is not saved, its table is
    np.testing.assert_array_equal(restored.embed.subword_table[...], model.embed.subword_table[...])
    np.testing.assert_array_equal(restored(BATCH), model(BATCH))
    # The looked-up input projections of inference include the subword part.
    np.testing.assert_allclose(model.for_inference()(BATCH), model(BATCH), rtol=1e-5, atol=1e-6)


def test_words_sharing_pieces_share_subword_vectors():
    table = np.asarray(build_model(config(SUBWORDS, vocabulary=VOCABULARY)).embed.subword_table[...])
    dull, dullness, grim = (VOCABULARY.index(word) for word in ("dull", "dullness", "grim"))
    assert set(table[dull][table[dull] > 0]) & set(table[dullness][table[dullness] > 0])
    assert not table[0].any() and not table[1].any()  # [PAD] and [UNK] have no spelling
    assert len(set(table[dull][table[dull] > 0]) & set(table[grim][table[grim] > 0])) < len(
        set(table[dull][table[dull] > 0])
    )


def test_a_vocabulary_of_the_wrong_size_is_one_line():
    with pytest.raises(InputError, match="^inputs: a vocabulary of 3 tokens for vocab_size 40$"):
        config(SUBWORDS, vocabulary=["[PAD]", "[UNK]", "dull"])
    with pytest.raises(InputError, match="^encoding: unknown type 'audio'; known: tokens, images, ratings$"):
        from flaxline.config import validated
        from flaxline.models import ModelInputs

        validated(ModelInputs, {"type": "audio"}, "encoding")
    assert TypeAdapter(ModelSpec).validate_python({"name": "resnet"}).widths == (16, 32, 64)
