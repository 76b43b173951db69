"""The pretrained encoder: a Hugging Face BERT checkpoint loaded onto the nnx module (names, transposes, shapes),
its forward pass against BERT's in numpy, every bad folder as one line naming the file, and fine-tuning by layer."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import jax
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.errors import InputError
from flaxline.models import ModelConfig, TokenInputs, initial_model
from flaxline.models.pooling import masked_mean
from flaxline.models.serialization import model_from_bytes, model_to_bytes
from flaxline.text.tokenizer import TokenizerSpec, encode, fit_encoding
from tests.bert_checkpoint import reference_states, wordpiece_tokenizer, write_checkpoint

WORDS = ["a", "great", "film", "dull", "plot", "not", "good", "bad", "movie", "##s", "##ly"]
TEXTS = ["A great film!", "not good, bad plot", "dully films", "movie"]


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "tiny-bert"
    return folder, write_checkpoint(folder, WORDS)


def encoded(folder: Path, texts=TEXTS, max_length: int = 16):
    tokenizer, encoding = fit_encoding(texts, TokenizerSpec(tokenizer_model="pretrained", pretrained=str(folder)), 2)
    return encode(tokenizer, texts, max_length), encoding


def initial(folder: Path, inputs: TokenInputs, **model) -> ModelConfig:
    return initial_model(
        ModelConfig.model_validate(
            {"model": {"name": "pretrained_encoder", "weights": str(folder)} | model, "inputs": inputs, "outputs": 2}
        )
    )


def test_the_checkpoint_tokenizer_adds_cls_and_sep_and_truncates(checkpoint):
    folder, _ = checkpoint
    (ids, lengths), encoding = encoded(folder, max_length=4)
    vocabulary = encoding.inputs.vocabulary
    assert [vocabulary[i] for i in ids[2]] == ["[CLS]", "dull", "##y", "[SEP]"]  # truncated, [SEP] kept
    assert [vocabulary[i] for i in ids[3]] == ["[CLS]", "movie", "[SEP]", "[PAD]"] and lengths.tolist() == [4, 4, 4, 3]


def test_loading_maps_names_and_transposes_and_computes_berts_states(checkpoint):
    folder, tensors = checkpoint
    (ids, lengths), encoding = encoded(folder)
    config, model = initial(folder, encoding.inputs)
    assert config.model.architecture.hidden_size == 16 and config.model.architecture.num_hidden_layers == 2
    query = model.encoder.layers[1].attention.query.kernel[...]
    np.testing.assert_array_equal(query, tensors["encoder.layer.1.attention.self.query.weight"].T)
    model.eval()
    states = np.asarray(model.encoder(ids, lengths))
    expected = reference_states(tensors, json.loads((folder / "config.json").read_text()), ids, lengths)
    real = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    np.testing.assert_allclose(states[real], expected[real], atol=2e-5)
    # Padding never changes a real position's state.
    wider = np.pad(ids, ((0, 0), (0, 8)), constant_values=7)
    np.testing.assert_allclose(
        np.asarray(model.encoder(wider, lengths))[:, : ids.shape[1]][real], states[real], atol=1e-5
    )
    logits = model({"ids": ids, "lengths": lengths})
    head = model.head
    pooled = np.asarray(masked_mean(states, lengths))
    np.testing.assert_allclose(logits, pooled @ head.kernel[...] + head.bias[...], atol=1e-5)


def test_cls_pooling_uses_the_checkpoints_pooler(checkpoint):
    folder, tensors = checkpoint
    (ids, lengths), encoding = encoded(folder)
    _, model = initial(folder, encoding.inputs, pooling="cls")
    model.eval()
    states = np.asarray(model.encoder(ids, lengths))
    pooled = np.tanh(states[:, 0] @ tensors["pooler.dense.weight"].T + tensors["pooler.dense.bias"])
    head = model.head
    np.testing.assert_allclose(
        model({"ids": ids, "lengths": lengths}), pooled @ head.kernel[...] + head.bias[...], atol=1e-5
    )


def _without(name):
    def change(folder: Path) -> None:
        tensors = load_file(folder / "model.safetensors")
        save_file({key: value for key, value in tensors.items() if key != name}, folder / "model.safetensors")

    return change


def _with(name, shape):
    def change(folder: Path) -> None:
        tensors = load_file(folder / "model.safetensors") | {name: np.zeros(shape, np.float32)}
        save_file(tensors, folder / "model.safetensors")

    return change


def _config(**overrides):
    def change(folder: Path) -> None:
        path = folder / "config.json"
        path.write_text(json.dumps(json.loads(path.read_text()) | overrides))

    return change


def _pickled(folder: Path) -> None:
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def _pickle_named_safetensors(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda folder: (folder / "config.json").unlink(), r"tiny-bert: no config\.json"),
        (_config(model_type="gpt2"), r"config\.json: model_type 'gpt2' is not a BERT-family encoder"),
        (_config(hidden_act="relu"), r"config\.json: hidden_act 'relu' is not one of gelu"),
        (_pickled, r"pytorch_model\.bin: a pickled checkpoint, which flaxline never loads"),
        (_pickle_named_safetensors, r"model\.safetensors: not a readable safetensors file"),
        (_without("encoder.layer.1.attention.self.key.weight"), r"no tensor for 'layers\.1\.attention\.key\.kernel'"),
        (
            _with("encoder.layer.0.attention.self.rotary.weight", (16, 16)),
            r"'encoder\.layer\.0\.attention\.self\.rotary\.weight' is not part of a BERT encoder",
        ),
        (
            _with("encoder.layer.2.output.dense.weight", (16, 32)),
            r"'encoder\.layer\.2\.output\.dense\.weight' has no place in this architecture",
        ),
        (
            _with("encoder.layer.0.intermediate.dense.weight", (16, 16)),
            r"'encoder\.layer\.0\.intermediate\.dense\.weight' is \[16, 16\], the architecture has \[32, 16\]",
        ),
    ],
)
def test_a_bad_checkpoint_folder_is_one_line_naming_the_file(checkpoint, change, message):
    folder, _ = checkpoint
    (_, _), encoding = encoded(folder)
    change(folder)
    with pytest.raises(InputError, match=message) as raised:
        initial(folder, encoding.inputs)
    assert "\n" not in str(raised.value) and str(folder) in str(raised.value)


def test_a_missing_folder_and_a_tokenizer_of_another_size_are_refused_before_training(checkpoint, tmp_path):
    folder, _ = checkpoint
    with pytest.raises(InputError, match=r"weights '.*nowhere': no folder .*; known names: minilm"):
        encoded(tmp_path / "nowhere")
    (_, _), encoding = encoded(folder)
    _config(vocab_size=encoding.inputs.vocab_size + 1)(folder)
    with pytest.raises(InputError, match=r"tokenizer\.json: \d+ tokens, but the checkpoint's config\.json embeds"):
        encoded(folder)
    with pytest.raises(InputError, match=r"the encoder embeds \d+ tokens but the tokenizer has \d+"):
        initial(folder, encoding.inputs)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(InputError, match=r"tiny-bert: no tokenizer\.json"):
        encoded(folder)


def test_fine_tuning_freezes_the_lowest_layers_decays_by_layer_and_saves_without_the_folder(checkpoint):
    folder, tensors = checkpoint
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS[:9], size=rng.integers(1, 6))) for _ in range(96)]
    (ids, lengths), encoding = encoded(folder, texts)
    labels = np.asarray(["good" in text for text in texts], np.int32)
    arrays = {"ids": ids, "lengths": lengths, "labels": labels}
    spec = TrainingSpec.model_validate(
        {
            "model": {"name": "pretrained_encoder", "weights": str(folder)},
            "optimizer": {
                "name": "adamw",
                "learning_rate": 1e-3,
                "schedule": "warmup_linear",
                "warmup_fraction": 0.1,
                "weight_decay": 0.01,
                "layer_decay": 0.5,
                "freeze_layers": 2,
                "accumulation_steps": 2,
                "clip_global_norm": 1.0,
            },
            # One batch width (texts of up to 7 word pieces): one compiled train step.
            "loop": {"epochs": 2, "batch_size": 16, "patience": None, "length_multiple": 8, "bucket_window_batches": 0},
        }
    )
    trained = train(spec, TrainingData(arrays, arrays, ("ids",)), encoding.inputs, 2)
    layers = trained.model.encoder.layers
    embedding = trained.model.encoder.embeddings.embed.embedding[...]
    np.testing.assert_array_equal(embedding, tensors["embeddings.word_embeddings.weight"])  # frozen: depth 0
    np.testing.assert_array_equal(layers[0].output.kernel[...], tensors["encoder.layer.0.output.dense.weight"].T)
    moved = np.abs(layers[1].output.kernel[...] - tensors["encoder.layer.1.output.dense.weight"].T).max()
    assert 0 < moved and trained.history[-1]["train_loss"] < trained.history[0]["train_loss"]
    saved = model_to_bytes(trained.model, trained.config)
    for path in folder.iterdir():
        path.unlink()
    restored, config = model_from_bytes(saved, "model.safetensors")
    restored.eval()
    batch = {"ids": ids[:8], "lengths": lengths[:8]}
    np.testing.assert_array_equal(restored(batch), trained.model(batch))
    assert config.model.architecture == trained.config.model.architecture


def test_depths_number_the_embeddings_each_layer_and_the_head(checkpoint):
    folder, _ = checkpoint
    (_, _), encoding = encoded(folder)
    _, model = initial(folder, encoding.inputs, pooling="cls")
    paths = jax.tree_util.tree_flatten_with_path(model.depths())[0]
    depth = {".".join(str(getattr(key, "key", "")) for key in path[:-1]): value for path, value in paths}
    assert depth["encoder.embeddings.norm.scale"] == 0 and depth["encoder.layers.1.attention.query.kernel"] == 2
    assert depth["pooler.dense.kernel"] == depth["head.bias"] == 3
    assert sorted(set(jax.tree.leaves(model.depths()))) == [0, 1, 2, 3]


@pytest.mark.parametrize("name", ["bilstm_attention", "lstm", "cnn", "transformer"])
def test_word_vectors_start_a_zoo_model_from_the_encoders_word_pieces(checkpoint, name):
    folder, tensors = checkpoint
    # A whitespace vocabulary of the zoo's own: "films" is two of the encoder's pieces, "dully" three.
    _, encoding = fit_encoding(["great film", "dully films", "great dully film"], TokenizerSpec(min_frequency=1), 2)
    vocabulary = encoding.inputs.vocabulary
    width = "dim" if name == "transformer" else "embed_dim"
    spec = {"name": name, width: 4, "word_vectors": str(folder)} | ({"heads": 2} if name == "transformer" else {})
    config = ModelConfig.model_validate({"model": spec, "inputs": encoding.inputs, "outputs": 2})
    _, model = initial_model(config)
    started = np.asarray(model.embed.embedding[...])

    table = tensors["embeddings.word_embeddings.weight"].astype(np.float64)
    pieces = wordpiece_tokenizer(WORDS).get_vocab()
    mean = {"great": table[pieces["great"]], "film": table[pieces["film"]]}
    mean["films"] = (table[pieces["film"]] + table[pieces["##s"]]) / 2
    mean["dully"] = (table[pieces["dull"]] + table[pieces["##y"]]) / 2  # ("dull", "##y")
    words = [word for word in vocabulary if word in mean]
    assert len(words) == 4
    # The same geometry, reduced: distances between the chosen words' vectors keep their order.
    pairs = [(a, b) for i, a in enumerate(words) for b in words[i + 1 :]]
    original = [np.linalg.norm(mean[a] - mean[b]) for a, b in pairs]
    reduced = [np.linalg.norm(started[vocabulary.index(a)] - started[vocabulary.index(b)]) for a, b in pairs]
    assert np.corrcoef(original, reduced)[0, 1] > 0.8
    random = np.asarray(
        initial_model(config.model_copy(update={"model": config.model.model_copy(update={"word_vectors": None})}))[
            1
        ].embed.embedding[...]
    )
    np.testing.assert_allclose(np.sqrt(np.mean(started**2)), np.sqrt(np.mean(random**2)), rtol=1e-5)
    with pytest.raises(InputError, match="word vectors of 16 dimensions, fewer than embed_dim 32"):
        initial_model(config.model_copy(update={"model": config.model.model_copy(update={width: 32})}))


@pytest.mark.slow
def test_all_minilm_l6_v2_matches_sentence_transformers_embeddings():
    reference = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())
    sentences = reference["sentences"]
    tokenizer, encoding = fit_encoding(sentences, TokenizerSpec(tokenizer_model="pretrained"), 2)
    ids, lengths = encode(tokenizer, sentences, 128)
    _, model = initial_model(
        ModelConfig.model_validate({"model": {"name": "pretrained_encoder"}, "inputs": encoding.inputs, "outputs": 2})
    )
    model.eval()
    pooled = np.asarray(masked_mean(model.encoder(ids, lengths), lengths))
    normalised = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(normalised, np.asarray(reference["embeddings"]), atol=1e-5)
