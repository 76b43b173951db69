import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from flaxline.engine.batching import Batching, bucketed_batches, sequential_batches
from flaxline.engine.inference import batched_outputs, make_forward, predict
from flaxline.engine.loop import EarlyStopping, LoopSpec, Losses, NonFiniteGuard, TrainingData, fit
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from flaxline.engine.train import TrainingSpec, train
from flaxline.errors import InputError, TrainingDiverged
from flaxline.losses import class_weight_vector, softmax_cross_entropy
from flaxline.models import ModelConfig, TokenInputs, build_model
from flaxline.models.serialization import model_to_bytes

TOKEN_ARRAYS = ("ids",)
INPUTS = TokenInputs(vocab_size=20)


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
    return {"ids": ids, "lengths": lengths, "labels": labels}


def toy_data(train_seed=0) -> TrainingData:
    return TrainingData(toy_task(256, train_seed), toy_task(64, 1), TOKEN_ARRAYS)


def spec(epochs=3, seed=0, model=None, learning_rate=0.01, loss=None, **loop) -> TrainingSpec:
    return TrainingSpec.model_validate(
        {
            "model": model or {"name": "lstm", "embed_dim": 8, "hidden_dim": 16},
            "optimizer": {"name": "adam", "learning_rate": learning_rate},
            "loop": {
                "epochs": epochs,
                "batch_size": 32,
                "seed": seed,
                "bucket_window_batches": 0,
                "length_multiple": 8,
                **loop,
            },
            **({"loss": loss} if loss else {}),
        }
    )


def run(epochs=3, seed=0, **loop):
    trained = train(spec(epochs, seed, **loop), toy_data(), INPUTS, 2)
    return trained.model, trained.history


def lstm(vocab_size=20, **settings):
    return build_model(
        ModelConfig.model_validate(
            {
                "model": {"name": "lstm", "embed_dim": 8, "hidden_dim": 16, **settings},
                "inputs": {"type": "tokens", "vocab_size": vocab_size},
                "outputs": 2,
            }
        )
    )


def plain_losses(model):
    loss = softmax_cross_entropy(np.ones(2, np.float32))
    return Losses(train=model.training_loss(loss), evaluate=loss)


def test_training_lowers_the_loss_and_records_each_epoch():
    _, history = run(epochs=4, patience=None)
    assert [record["epoch"] for record in history] == [1, 2, 3, 4]
    assert list(history[0])[:5] == ["epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]


def test_same_seed_same_parameters():
    (first, _), (again, _) = run(epochs=2), run(epochs=2)
    described = ModelConfig(model=spec().model, inputs=INPUTS, outputs=2)
    assert model_to_bytes(first, described) == model_to_bytes(again, described)


def validation_loss_of(model) -> float:
    data = toy_task(64, 1)
    logits = predict(model, data, Batching(256, TOKEN_ARRAYS))
    shifted = logits - logits.max(axis=1, keepdims=True)
    return float(-(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(64), data["labels"]].mean())


def test_early_stopping_keeps_the_best_epoch():
    model, history = run(epochs=6, patience=1, min_delta=10.0)  # nothing improves by 10: stop after epoch 2
    assert len(history) == 2
    assert validation_loss_of(model) == pytest.approx(history[0]["validation_loss"], rel=1e-4)


def test_monitoring_accuracy_keeps_the_first_epoch_of_highest_validation_accuracy():
    model, history = run(epochs=6, patience=None, monitor="validation_accuracy")
    accuracies = [record["validation_accuracy"] for record in history]
    kept = history[int(np.argmax(accuracies))]
    assert kept != min(history, key=lambda record: record["validation_loss"])  # the two monitors disagree here
    assert validation_loss_of(model) == pytest.approx(kept["validation_loss"], rel=1e-4)
    with pytest.raises(
        InputError,
        match=r"^monitor: 'f1' is not one of validation_loss, validation_accuracy, validation_absolute_error$",
    ):
        LoopSpec.model_validate({"monitor": "f1"})


def test_early_stopping_counts_epochs_without_a_better_value_and_never_keeps_a_non_finite_loss():
    stopping = EarlyStopping("validation_accuracy", patience=2, min_delta=0.01)
    records = [
        {"validation_loss": 0.5, "validation_accuracy": accuracy} for accuracy in (0.5, 0.6, 0.605, 0.7, 0.69, 0.69)
    ]
    assert [stopping.improved(record) for record in records] == [True, True, False, True, False, False]
    assert stopping.should_stop and stopping.best_score == pytest.approx(0.7)
    by_loss = EarlyStopping("validation_loss", patience=None)
    assert by_loss.improved({"validation_loss": 0.4}) and not by_loss.improved({"validation_loss": 0.5})
    assert not by_loss.improved({"validation_loss": float("nan")}) and not by_loss.should_stop
    assert not EarlyStopping("validation_accuracy", 1).improved(
        {"validation_loss": float("nan"), "validation_accuracy": 1.0}
    )


def test_the_non_finite_guard_allows_runs_up_to_its_limit():
    NonFiniteGuard(0).check([0.0, 0.0], epoch=1, steps_before=0)
    with pytest.raises(TrainingDiverged, match=r"^training diverged: non-finite loss at epoch 2, step 12; lower"):
        NonFiniteGuard(0).check([0.0, 1.0], epoch=2, steps_before=10)
    guard = NonFiniteGuard(2)
    guard.check([1.0, 1.0, 0.0, 1.0], epoch=1, steps_before=0)
    assert guard.consecutive == 1
    with pytest.raises(TrainingDiverged, match=r"step 7 \(3 in a row\)"):
        guard.check([1.0, 1.0], epoch=1, steps_before=5)


def test_batches_are_trimmed_and_the_last_is_filled_with_zero_weight_rows():
    data = toy_task(70)
    batching = Batching(32, TOKEN_ARRAYS, length_multiple=8)
    batches = list(batching.batches(data, sequential_batches(np.arange(70), 32)))
    assert [len(b["labels"]) for b in batches] == [32, 32, 32]
    assert batches[-1]["weights"].sum() == 6
    for batch in batches:
        assert batch["ids"].shape[1] % 8 == 0 and batch["ids"].shape[1] >= batch["lengths"].max()
    images = {"images": np.zeros((5, 4, 4, 1), np.uint8), "labels": np.arange(5)}
    assert [
        b["images"].shape for b in Batching(4, window_batches=2).batches(images, Batching(4).in_length_order(images))
    ] == [(4, 4, 4, 1)] * 2
    with pytest.raises(InputError, match="^array 'labels' has 4 rows, the others 5$"):
        Batching(4).steps({"images": images["images"], "labels": np.arange(4)})


def test_predictions_come_back_in_input_order():
    model, _ = run(epochs=1)
    data = toy_task(50, 2)
    together = predict(model, data, Batching(16, TOKEN_ARRAYS))
    graphdef, params, rest = nnx.split(model.for_inference(), nnx.Param, ...)
    forward = make_forward(graphdef)  # compiled once for all 50 calls
    one_by_one = np.concatenate(
        [
            batched_outputs(
                forward, params, rest, {k: v[i : i + 1] for k, v in data.items()}, Batching(1, TOKEN_ARRAYS)
            )
            for i in range(50)
        ]
    )
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)


def test_balanced_class_weights():
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 1]), 2, "balanced"), [2 / 3, 2.0])
    np.testing.assert_array_equal(class_weight_vector(np.array([0, 1]), 2, None), [1.0, 1.0])
    logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 0.0]])
    batch = {"labels": jnp.array([0, 1, 1, 0]), "weights": jnp.array([1.0, 1.0, 1.0, 0.0])}  # the last row is filler
    objective, metrics = softmax_cross_entropy(np.array([0.5, 2.0], np.float32))(logits, batch)
    per_example = -jax.nn.log_softmax(logits)[np.arange(4), batch["labels"]]
    expected = (0.5 * per_example[0] + 2.0 * per_example[1] + 2.0 * per_example[2]) / (0.5 + 2.0 + 2.0)
    assert float(objective) == pytest.approx(float(expected), rel=1e-6)
    np.testing.assert_allclose(metrics["loss"], per_example, rtol=1e-6)  # the reported loss is not weighed
    with pytest.raises(InputError, match=r"^loss.class_weights: 'inverse' is not one of balanced"):
        spec(loss={"name": "softmax_cross_entropy", "class_weights": "inverse"})


def test_bucketed_batches_cover_every_example_once_with_less_padding():
    data = toy_task(1000)
    rng = np.random.default_rng(0)
    order = rng.permutation(1000)
    bucketed = bucketed_batches(data["lengths"], order, batch_size=32, window_batches=8, rng=rng)
    assert sorted(np.concatenate(bucketed).tolist()) == list(range(1000))
    assert len(bucketed) == Batching(32, TOKEN_ARRAYS, window_batches=8).steps(data)
    widths = lambda batches: sum(data["lengths"][b].max() * len(b) for b in batches)  # noqa: E731
    assert widths(bucketed) < 0.8 * widths(sequential_batches(order, 32))
    first, again = (bucketed_batches(data["lengths"], order, 32, 8, np.random.default_rng(1)) for _ in range(2))
    assert all((a == b).all() for a, b in zip(first, again, strict=True))


def test_training_with_buckets_learns_too():
    _, history = run(epochs=4, patience=None, bucket_window_batches=4)
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]


def test_bfloat16_compute_keeps_float32_parameters_and_learns():
    model, history = run(epochs=3, patience=None, compute_dtype="bfloat16")
    assert model.head.kernel[...].dtype == np.float32
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def fit_with(model, optimizer, loop: dict, data: TrainingData | None = None, checkpoints=None):
    loop_spec = LoopSpec.model_validate({"batch_size": 32, "bucket_window_batches": 0, **loop})
    return fit(model, optimizer, data or toy_data(), loop_spec, plain_losses(model), loop_spec.placement(), checkpoints)


def test_a_non_finite_loss_stops_training_naming_epoch_and_step():
    # Step 1 is computed before the first (NaN) update, so step 2 is the first non-finite one.
    with pytest.raises(FloatingPointError, match=r"non-finite loss at epoch 1, step 2;"):
        fit_with(
            lstm(),
            build_optimizer(OptimizerSpec(name="sgd", learning_rate=float("nan")), total_steps=16),
            {"epochs": 2, "patience": None, "progress_every_steps": 3},
        )


def task_with_a_poisoned_token(rows_with_token: int):
    """The toy task where ``rows_with_token`` rows hold token 20, whose embedding is NaN: their batches' losses are
    NaN."""
    data = toy_task(256, 0)
    data["ids"][:rows_with_token, 0] = 20
    model = lstm(vocab_size=21)
    model.embed.embedding[...] = model.embed.embedding[...].at[20].set(np.nan)
    return model, TrainingData(data, toy_task(64, 1), TOKEN_ARRAYS)


def adam(rate=0.01, steps=16):
    return build_optimizer(OptimizerSpec(learning_rate=rate), total_steps=steps)


def test_skip_mode_drops_non_finite_updates_and_counts_them():
    model, data = task_with_a_poisoned_token(rows_with_token=3)
    history = fit_with(
        model, adam(), {"epochs": 2, "patience": None, "on_nonfinite": "skip", "max_consecutive_nonfinite": 3}, data
    )
    assert 1 <= history[0]["skipped_steps"] <= 3 and 1 <= history[1]["skipped_steps"] <= 3
    assert all(np.isfinite([r["train_loss"], r["validation_loss"]]).all() for r in history)
    assert np.isfinite(model.lstm.kernel[...]).all()
    model, data = task_with_a_poisoned_token(rows_with_token=3)
    with pytest.raises(FloatingPointError, match="non-finite loss at epoch 1"):
        fit_with(model, adam(), {"epochs": 2}, data)


def test_skip_mode_still_stops_after_too_many_non_finite_steps_in_a_row():
    model, data = task_with_a_poisoned_token(rows_with_token=256)
    with pytest.raises(FloatingPointError, match=r"non-finite loss at epoch 1, step 4 \(4 in a row\)"):
        fit_with(
            model,
            adam(steps=8),
            {"epochs": 1, "on_nonfinite": "skip", "max_consecutive_nonfinite": 3, "progress_every_steps": 2},
            data,
        )


def test_averaged_training_keeps_the_average_as_the_model():
    averaged, history = run(epochs=3, patience=None, average_decay=0.9)
    plain, _ = run(epochs=3, patience=None)
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]
    assert not np.array_equal(averaged.head.kernel[...], plain.head.kernel[...])
    best = min(record["validation_loss"] for record in history)
    assert validation_loss_of(averaged) == pytest.approx(best, rel=1e-4)  # the model is the average that was validated


def test_a_decay_outside_zero_one_and_an_all_nan_validation_are_one_line_errors():
    with pytest.raises(InputError, match=r"^loop.average_decay: input should be less than 1, not 1.0$"):
        spec(average_decay=1.0)
    validation = toy_task(64, 1)
    poisoned = validation | {"ids": np.full_like(validation["ids"], 20)}  # id 20: out of the table
    with pytest.raises(TrainingDiverged, match="no epoch had a finite validation loss"):
        fit_with(lstm(), adam(steps=8), {"epochs": 1}, TrainingData(toy_task(256, 0), poisoned, TOKEN_ARRAYS))


def dot_products(jaxpr, primitives=("dot_general",)) -> list[tuple[str, ...]]:
    """(left, right, result) dtypes of every matrix product (or convolution) in ``jaxpr``, inside loops too."""
    found = []
    for equation in jaxpr.eqns:
        if equation.primitive.name in primitives:
            found.append(tuple(str(v.aval.dtype) for v in (*equation.invars, *equation.outvars)))
        for inner in jax.extend.core.jaxprs_in_params(equation.params):
            found += dot_products(inner, primitives)
    return found


def test_bfloat16_inference_multiplies_in_bf16_and_keeps_the_predictions():
    model, _ = run(epochs=3, patience=None)
    data = toy_task(200, 3)
    exact = predict(model, data, Batching(256, TOKEN_ARRAYS))
    rounded = predict(model, data, Batching(256, TOKEN_ARRAYS), compute_dtype="bfloat16")
    assert not np.array_equal(exact, rounded)
    np.testing.assert_allclose(rounded, exact, atol=0.05 * np.abs(exact).max())
    assert (rounded.argmax(axis=1) == exact.argmax(axis=1)).mean() >= 0.97
    # Both LSTM paths (the looked-up projections of inference, the packed kernel of training)
    # multiply bf16 by bf16 into fp32, so the gates and the state stay fp32.
    for variant in (model.for_inference(), model):
        graphdef, params, rest = nnx.split(variant, nnx.Param, ...)
        batch = {"ids": data["ids"][:4], "lengths": data["lengths"][:4]}
        jaxpr = jax.make_jaxpr(make_forward(graphdef, "bfloat16"))(params, rest, batch).jaxpr
        recurrent = [dtypes for dtypes in dot_products(jaxpr) if dtypes[:2] == ("bfloat16", "bfloat16")]
        assert recurrent and all(result == "float32" for _, _, result in recurrent)


def test_an_unknown_compute_dtype_is_one_line_naming_the_choices():
    with pytest.raises(
        InputError, match=r"^loop.compute_dtype: 'int8' is not one of auto, float32, bfloat16, float16$"
    ):
        spec(compute_dtype="int8")


def test_each_member_of_an_ensemble_learns_as_if_trained_alone():
    ensemble = build_model(
        ModelConfig.model_validate(
            {
                "model": {"name": "ensemble", "size": 2, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 16}},
                "inputs": INPUTS,
                "outputs": 2,
            }
        )
    )
    alone = lstm()
    nnx.update(alone, jax.tree.map(jnp.copy, nnx.state(ensemble.members[1], nnx.Param)))
    for model in (ensemble, alone):
        fit_with(model, adam(steps=16), {"epochs": 2, "patience": None})
    for (path, trained), (_, reference) in zip(
        nnx.to_flat_state(nnx.state(ensemble.members[1], nnx.Param)),
        nnx.to_flat_state(nnx.state(alone, nnx.Param)),
        strict=True,
    ):
        np.testing.assert_allclose(trained[...], reference[...], rtol=1e-5, atol=1e-6, err_msg=str(path))


def toy_images(n: int, seed: int) -> dict[str, np.ndarray]:
    """A bright square in the left or the right half of an 8×8 image: the label is which half."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 30, (n, 8, 8, 1)).astype(np.uint8)
    labels = rng.integers(0, 2, n).astype(np.int32)
    for index, label in enumerate(labels):
        row, column = rng.integers(0, 5), rng.integers(0, 2) + 4 * label
        images[index, row : row + 3, column : column + 2] = 255
    return {"images": images, "labels": labels}


def test_an_image_model_learns_with_augmentation_deterministically():
    from flaxline.models import ImageInputs

    data = TrainingData(toy_images(256, 0), toy_images(64, 1))
    inputs = ImageInputs(shape=(8, 8, 1), mean=(60.0,), std=(90.0,))
    image_spec = spec(
        epochs=4,
        patience=None,
        model={"name": "cnn2d", "channels": [8], "dense_dim": 16, "augmentation": {"shift": 1.0}},
    )
    trained, again = train(image_spec, data, inputs, 2), train(image_spec, data, inputs, 2)
    assert trained.history[-1]["validation_accuracy"] > 0.9
    assert model_to_bytes(trained.model, trained.config) == model_to_bytes(again.model, again.config)


def test_a_validation_split_with_a_non_finite_example_is_never_kept():
    model = lstm(vocab_size=21)
    model.embed.embedding[...] = model.embed.embedding[...].at[20].set(np.nan)
    validation = toy_task(64, 1)
    validation["ids"][:3, 0] = 20  # three of 64 rows: their batch's loss, so the split's, is not finite
    with pytest.raises(TrainingDiverged, match="no epoch had a finite validation loss"):
        fit_with(
            model,
            adam(steps=16),
            {"epochs": 2, "patience": None},
            TrainingData(toy_task(256, 0), validation, TOKEN_ARRAYS),
        )


@pytest.mark.parametrize("name", ["cnn2d", "resnet"])
def test_bfloat16_compute_runs_image_models_in_bf16(name):
    from flaxline.models import ImageInputs

    model = build_model(
        ModelConfig.model_validate(
            {"model": {"name": name}, "inputs": ImageInputs(shape=(8, 8, 1), mean=(1.0,), std=(2.0,)), "outputs": 3}
        )
    )
    model.eval()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    jaxpr = jax.make_jaxpr(make_forward(graphdef, "bfloat16"))(
        params, rest, {"images": np.zeros((2, 8, 8, 1), np.uint8)}
    ).jaxpr
    products = dot_products(jaxpr, ("dot_general", "conv_general_dilated"))
    assert products and all(dtypes[:2] == ("bfloat16", "bfloat16") for dtypes in products), products
