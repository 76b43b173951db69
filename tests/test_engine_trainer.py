import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from flaxline.engine.batching import (
    EncodedSplit,
    bucketed_batches,
    iterate_batches,
    sequential_batches,
    steps_per_epoch,
)
from flaxline.engine.optim import build_optimizer
from flaxline.engine.trainer import TrainingConfig, class_weight_vector, fit, make_forward, predict_logits
from flaxline.errors import InputError, TrainingDiverged
from flaxline.models import build_model
from flaxline.models.serialization import model_to_bytes


def toy_task(n=256, seed=0):
    """The label is whether token 3 occurs in the sequence: learnable by an LSTM in a few epochs."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 15, size=n).astype(np.int32)
    ids = np.zeros((n, 16), dtype=np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(4, 20, size=length)
    labels = rng.integers(0, 2, size=n).astype(np.int32)
    positions = (rng.random(n) * lengths).astype(int)
    ids[np.arange(n)[labels == 1], positions[labels == 1]] = 3
    return EncodedSplit(ids, lengths, labels)


def train(epochs=3, seed=0, **loop):
    train_split, validation = toy_task(256, 0), toy_task(64, 1)
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16, seed=seed)
    config = TrainingConfig(epochs=epochs, batch_size=32, seed=seed, **loop)
    tx = build_optimizer("adam", 0.01, total_steps=epochs * steps_per_epoch(256, 32))
    history = fit(model, tx, train_split, validation, config)
    return model, history


def test_training_lowers_the_loss_and_records_each_epoch():
    _, history = train(epochs=4, patience=None)
    assert [record["epoch"] for record in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]


def test_same_seed_same_parameters():
    first, _ = train(epochs=2)
    again, _ = train(epochs=2)
    assert model_to_bytes(first, {}) == model_to_bytes(again, {})


def test_early_stopping_keeps_the_best_epoch():
    model, history = train(epochs=6, patience=1, min_delta=10.0)  # nothing improves by 10: stop after epoch 2
    assert len(history) == 2
    assert validation_loss_of(model) == pytest.approx(history[0]["validation_loss"], rel=1e-4)


def validation_loss_of(model) -> float:
    data = toy_task(64, 1)
    logits = predict_logits(model, data.ids, data.lengths)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return float(-(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(64), data.labels].mean())


def test_monitoring_accuracy_keeps_the_first_epoch_of_highest_validation_accuracy():
    model, history = train(epochs=6, patience=None, monitor="validation_accuracy")
    accuracies = [record["validation_accuracy"] for record in history]
    kept = history[int(np.argmax(accuracies))]
    assert kept != min(history, key=lambda record: record["validation_loss"])  # the two monitors disagree here
    assert validation_loss_of(model) == pytest.approx(kept["validation_loss"], rel=1e-4)
    with pytest.raises(InputError, match=r"^unknown monitor 'f1'; known: validation_loss, validation_accuracy$"):
        TrainingConfig(monitor="f1")


def test_batches_are_trimmed_and_the_last_is_filled_with_zero_weight_rows():
    data = toy_task(70)
    batches = list(iterate_batches(data, sequential_batches(np.arange(70), 32), batch_size=32, length_multiple=8))
    assert [len(b.labels) for b in batches] == [32, 32, 32]
    assert batches[-1].weights.sum() == 6
    for batch in batches:
        assert batch.ids.shape[1] % 8 == 0 and batch.ids.shape[1] >= batch.lengths.max()


def test_predictions_come_back_in_input_order():
    model, _ = train(epochs=1)
    data = toy_task(50, 2)
    together = predict_logits(model, data.ids, data.lengths, batch_size=16)
    one_by_one = np.concatenate([predict_logits(model, data.ids[i : i + 1], data.lengths[i : i + 1]) for i in range(50)])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)


def test_balanced_class_weights():
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 1]), 2, "balanced"), [2 / 3, 2.0])
    np.testing.assert_array_equal(class_weight_vector(np.array([0, 1]), 2, None), [1.0, 1.0])
    with pytest.raises(InputError, match="unknown class_weights"):
        class_weight_vector(np.array([0]), 2, "inverse")


def test_bucketed_batches_cover_every_example_once_with_less_padding():
    data = toy_task(1000)
    rng = np.random.default_rng(0)
    order = rng.permutation(1000)
    bucketed = bucketed_batches(data.lengths, order, batch_size=32, window_batches=8, rng=rng)
    assert sorted(np.concatenate(bucketed).tolist()) == list(range(1000))
    assert len(bucketed) == steps_per_epoch(1000, 32, window_batches=8)
    widths = lambda batches: sum(data.lengths[b].max() * len(b) for b in batches)  # noqa: E731
    assert widths(bucketed) < 0.8 * widths(sequential_batches(order, 32))
    first, again = (bucketed_batches(data.lengths, order, 32, 8, np.random.default_rng(1)) for _ in range(2))
    assert all((a == b).all() for a, b in zip(first, again))


def test_training_with_buckets_learns_too():
    _, history = train(epochs=4, patience=None, bucket_window_batches=4)
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]


def test_bfloat16_compute_keeps_float32_parameters_and_learns():
    model, history = train(epochs=3, patience=None, compute_dtype="bfloat16")
    assert model.head.kernel[...].dtype == np.float32
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_a_non_finite_loss_stops_training_naming_epoch_and_step():
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16)
    config = TrainingConfig(epochs=2, batch_size=32, patience=None, progress_every_steps=3)
    # Step 1 is computed before the first (NaN) update, so step 2 is the first non-finite one.
    with pytest.raises(FloatingPointError, match=r"non-finite loss at epoch 1, step 2;"):
        fit(model, build_optimizer("sgd", float("nan"), total_steps=16), toy_task(256, 0), toy_task(64, 1), config)


def task_with_a_poisoned_token(rows_with_token: int):
    """The toy task where ``rows_with_token`` rows hold token 20, whose embedding is NaN: their batches' losses are NaN."""
    data = toy_task(256, 0)
    ids = data.ids.copy()
    ids[:rows_with_token, 0] = 20
    model = build_model("lstm", vocab_size=21, num_classes=2, embed_dim=8, hidden_dim=16)
    model.embed.embedding[...] = model.embed.embedding[...].at[20].set(np.nan)
    return model, EncodedSplit(ids, data.lengths, data.labels)


def test_skip_mode_drops_non_finite_updates_and_counts_them():
    model, data = task_with_a_poisoned_token(rows_with_token=3)
    config = TrainingConfig(epochs=2, batch_size=32, patience=None, on_nonfinite="skip", max_consecutive_nonfinite=3)
    history = fit(model, build_optimizer("adam", 0.01, total_steps=16), data, toy_task(64, 1), config)
    assert 1 <= history[0]["skipped_steps"] <= 3 and 1 <= history[1]["skipped_steps"] <= 3
    assert all(np.isfinite([r["train_loss"], r["validation_loss"]]).all() for r in history)
    assert np.isfinite(model.lstm.kernel[...]).all()
    model, data = task_with_a_poisoned_token(rows_with_token=3)
    with pytest.raises(FloatingPointError, match="non-finite loss at epoch 1"):
        fit(model, build_optimizer("adam", 0.01, total_steps=16), data, toy_task(64, 1), TrainingConfig(epochs=2, batch_size=32))


def test_skip_mode_still_stops_after_too_many_non_finite_steps_in_a_row():
    model, data = task_with_a_poisoned_token(rows_with_token=256)
    config = TrainingConfig(epochs=1, batch_size=32, on_nonfinite="skip", max_consecutive_nonfinite=3, progress_every_steps=2)
    with pytest.raises(FloatingPointError, match=r"non-finite loss at epoch 1, step 4 \(4 in a row\)"):
        fit(model, build_optimizer("adam", 0.01, total_steps=8), data, toy_task(64, 1), config)


def test_averaged_training_keeps_the_average_as_the_model():
    averaged, history = train(epochs=3, patience=None, average_decay=0.9)
    plain, _ = train(epochs=3, patience=None)
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]
    assert model_to_bytes(averaged, {}) != model_to_bytes(plain, {})
    best = min(record["validation_loss"] for record in history)
    assert validation_loss_of(averaged) == pytest.approx(best, rel=1e-4)  # the model is the average that was validated


def test_a_decay_outside_zero_one_and_an_all_nan_validation_are_one_line_errors():
    with pytest.raises(InputError, match="average_decay must lie strictly between 0 and 1, not 1.0"):
        train(epochs=1, average_decay=1.0)
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16)
    validation = toy_task(64, 1)
    poisoned = EncodedSplit(np.full_like(validation.ids, 20), validation.lengths, validation.labels)  # id 20: out of the table
    with pytest.raises(TrainingDiverged, match="no epoch had a finite validation loss"):
        fit(model, build_optimizer("adam", 0.01, total_steps=8), toy_task(256, 0), poisoned, TrainingConfig(epochs=1, batch_size=32))


def dot_products(jaxpr) -> list[tuple[str, str, str]]:
    """(left, right, result) dtypes of every matrix product in ``jaxpr``, inside loops too."""
    found = []
    for equation in jaxpr.eqns:
        if equation.primitive.name == "dot_general":
            found.append(tuple(str(v.aval.dtype) for v in (*equation.invars, *equation.outvars)))
        for inner in jax.extend.core.jaxprs_in_params(equation.params):
            found += dot_products(inner)
    return found


def test_bfloat16_inference_multiplies_in_bf16_and_keeps_the_predictions():
    model, _ = train(epochs=3, patience=None)
    data = toy_task(200, 3)
    exact = predict_logits(model, data.ids, data.lengths)
    rounded = predict_logits(model, data.ids, data.lengths, compute_dtype="bfloat16")
    assert not np.array_equal(exact, rounded)
    np.testing.assert_allclose(rounded, exact, atol=0.05 * np.abs(exact).max())
    assert (rounded.argmax(axis=1) == exact.argmax(axis=1)).mean() >= 0.97
    # Both LSTM paths (the looked-up projections of inference, the packed kernel of training)
    # multiply bf16 by bf16 into fp32, so the gates and the state stay fp32.
    for variant in (model.for_inference(), model):
        graphdef, params, rest = nnx.split(variant, nnx.Param, ...)
        jaxpr = jax.make_jaxpr(make_forward(graphdef, "bfloat16"))(params, rest, data.ids[:4], data.lengths[:4]).jaxpr
        recurrent = [dtypes for dtypes in dot_products(jaxpr) if dtypes[:2] == ("bfloat16", "bfloat16")]
        assert recurrent and all(result == "float32" for _, _, result in recurrent)


def test_an_unknown_compute_dtype_is_one_line_naming_the_choices():
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16)
    data = toy_task(8, 0)
    with pytest.raises(InputError, match=r"^compute_dtype must be one of float32, bfloat16, float16, not 'int8'$"):
        predict_logits(model, data.ids, data.lengths, compute_dtype="int8")


def test_each_member_of_an_ensemble_learns_as_if_trained_alone():
    ensemble = build_model("ensemble", vocab_size=20, num_classes=2, size=2, member={"name": "lstm", "embed_dim": 8, "hidden_dim": 16})
    alone = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16)
    nnx.update(alone, jax.tree.map(jnp.copy, nnx.state(ensemble.members[1], nnx.Param)))
    config = TrainingConfig(epochs=2, batch_size=32, patience=None)
    for model in (ensemble, alone):
        fit(model, build_optimizer("adam", 0.01, total_steps=2 * steps_per_epoch(256, 32)), toy_task(256, 0), toy_task(64, 1), config)
    for (path, trained), (_, reference) in zip(
        nnx.to_flat_state(nnx.state(ensemble.members[1], nnx.Param)), nnx.to_flat_state(nnx.state(alone, nnx.Param)), strict=True
    ):
        np.testing.assert_allclose(trained[...], reference[...], rtol=1e-5, atol=1e-6, err_msg=str(path))
