import dataclasses
import logging
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from flaxline.engine.checkpoints import TrainingCheckpoints, remove_checkpoints, run_fingerprint
from flaxline.engine.loop import ARRAYS, EarlyStopping, LoopState, NonFiniteGuard
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from tests.test_engine import fit_with, lstm

EPOCHS, STEPS = 3, 8  # 256 examples in batches of 32


def train(checkpoint_dir=None, every_steps=3):
    """Dropout and bucketed batches, so RNG and data-order state both have to survive a restart."""
    model = lstm(dropout=0.2, token_dropout=0.1)
    tx = build_optimizer(OptimizerSpec(learning_rate=0.01), total_steps=EPOCHS * STEPS)
    loop = {"epochs": EPOCHS, "patience": None, "bucket_window_batches": 2, "progress_every_steps": 5}
    checkpoints = (
        None if checkpoint_dir is None else TrainingCheckpoints(checkpoint_dir, every_steps=every_steps, keep=100)
    )
    history = fit_with(model, tx, loop, checkpoints=checkpoints)
    if checkpoints is not None:
        checkpoints.close()
    arrays = [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))]
    return arrays, [(r["train_loss"], r["validation_loss"]) for r in history]


def same(run, reference) -> bool:
    (arrays, history), (reference_arrays, reference_history) = run, reference
    return history == reference_history and all(
        np.array_equal(a, b) for a, b in zip(arrays, reference_arrays, strict=True)
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkpoints")
    reference = train()
    assert same(train(directory), reference)  # writing checkpoints changes nothing
    return directory, reference


def test_checkpoints_every_n_steps_and_at_epoch_ends(uninterrupted):
    directory, _ = uninterrupted
    steps = sorted(int(path.name) for path in directory.iterdir() if path.name.isdigit())
    # Mid-epoch every 3 steps of each 8-step epoch, and the ends of epochs 1 and 2 (the last epoch ends the run).
    assert steps == [3, 6, 8, 11, 14, 16, 19, 22]


@pytest.mark.parametrize("resume_from", [11, 16], ids=["mid_epoch", "epoch_end"])
def test_a_run_resumed_from_a_checkpoint_ends_byte_identical(uninterrupted, tmp_path, resume_from, caplog):
    directory, reference = uninterrupted
    crashed = tmp_path / "crashed"
    shutil.copytree(directory, crashed)
    for path in crashed.iterdir():  # the run "died" right after writing the checkpoint of `resume_from`
        if path.name.isdigit() and int(path.name) > resume_from:
            shutil.rmtree(path)
    with caplog.at_level(logging.INFO, logger="flaxline.engine.checkpoints"):
        assert same(train(crashed), reference)
    assert f"resuming from the checkpoint of step {resume_from} " in caplog.text


def test_a_half_written_checkpoint_is_ignored(uninterrupted, tmp_path):
    directory, reference = uninterrupted
    crashed = tmp_path / "crashed"
    shutil.copytree(directory, crashed)
    # Orbax writes into a temporary folder and renames it when complete; a crash leaves the temporary one.
    (crashed / "22").rename(crashed / "22.orbax-checkpoint-tmp-1700000000")
    for part in (crashed / "22.orbax-checkpoint-tmp-1700000000").rglob("*"):
        if part.is_file():
            part.write_bytes(b"\0" * 7)
    reopened = TrainingCheckpoints(crashed)
    assert reopened.manager.latest_step() == 19
    reopened.close()
    assert same(train(crashed), reference)


def test_every_field_of_the_loop_state_survives_a_checkpoint(tmp_path):
    """A new piece of loop state is checkpointed by being a field: each one, set away from its default, comes back."""
    params = {"w": jnp.arange(3.0)}
    state = LoopState(
        params=params,
        rest={"count": jnp.array(7)},
        opt_state=(jnp.ones(2),),
        best={"w": np.full(3, 2.0, np.float32)},
        stopping=EarlyStopping("validation_accuracy", patience=4, min_delta=0.1, best_score=0.8, since_best=2),
        guard=NonFiniteGuard(allowed=3, consecutive=1),
        epoch=3,
        steps_done=5,
        epoch_rng=np.random.default_rng(9).bit_generator.state,
        sums=[{"loss": np.float32(1.5), "count": np.float32(32.0)}],
        history=[{"epoch": 1, "train_loss": 0.5}],
    )
    fresh = LoopState(params, {}, (), params, EarlyStopping("validation_loss", None), NonFiniteGuard(0))
    assert all(
        getattr(state, f.name) != getattr(fresh, f.name) for f in dataclasses.fields(LoopState) if f.metadata != ARRAYS
    )
    checkpoints = TrainingCheckpoints(tmp_path / "run")
    checkpoints.save(1, state.arrays(), state.progress())
    checkpoints.close()
    restored = LoopState.restored(*TrainingCheckpoints(tmp_path / "run").restore_latest(state.arrays()))
    for field in dataclasses.fields(LoopState):
        mine, theirs = getattr(state, field.name), getattr(restored, field.name)
        if field.metadata == ARRAYS:
            assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), mine, theirs)), field.name
        else:
            assert theirs == mine, field.name


def test_run_fingerprint_follows_settings_and_data():
    arrays = {"ids": np.arange(6).reshape(2, 3), "labels": np.array([0, 1])}
    same_run = run_fingerprint({"lr": 0.1, "epochs": 2}, {k: v.copy() for k, v in arrays.items()})
    assert run_fingerprint({"epochs": 2, "lr": 0.1}, arrays) == same_run
    assert run_fingerprint({"lr": 0.2, "epochs": 2}, arrays) != same_run
    assert run_fingerprint({"lr": 0.1, "epochs": 2}, arrays | {"labels": np.array([1, 0])}) != same_run


def test_divergence_leaves_the_last_good_checkpoint(tmp_path):
    model = lstm()
    # The 6th update is NaN: the parameters go bad one step before any loss could show it.
    tx = optax.sgd(lambda count: jnp.where(count < 5, 0.01, jnp.nan))
    checkpoints = TrainingCheckpoints(tmp_path, every_steps=1, keep=2)
    with pytest.raises(FloatingPointError, match=r"^training diverged: non-finite parameters after epoch 1, step 6;"):
        fit_with(model, tx, {"epochs": 2, "patience": None}, checkpoints=checkpoints)
    checkpoints.close()
    reopened = TrainingCheckpoints(tmp_path)
    assert reopened.manager.all_steps() == [4, 5]
    _, params, rest = nnx.split(model, nnx.Param, ...)
    arrays, progress = reopened.restore_latest(
        {"params": params, "rest": rest, "opt_state": tx.init(params), "best": params}
    )
    reopened.close()
    assert progress["steps_done"] == 5
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(arrays["params"]))


def test_removed_checkpoints_leave_nothing(tmp_path):
    run = tmp_path / "0123abcd"
    (run / "8").mkdir(parents=True)
    (run / "8" / "data").write_bytes(b"x")
    remove_checkpoints(run)
    assert list(tmp_path.iterdir()) == []
    remove_checkpoints(run)  # nothing left: no error


def test_an_image_model_with_augmentation_resumes_byte_identical(tmp_path, caplog):
    """Augmentation draws from the model's RNG state, so a resumed run draws what the uninterrupted one drew."""
    from flaxline.engine.loop import TrainingData
    from flaxline.models import ImageInputs, ModelConfig, build_model
    from tests.test_engine import toy_images

    def images(checkpoint_dir=None):
        spec = {"name": "cnn2d", "channels": [4], "dense_dim": 8, "augmentation": {"shift": 1.0, "rotation": 10.0}}
        inputs = ImageInputs(shape=(8, 8, 1), mean=(60.0,), std=(90.0,))
        model = build_model(ModelConfig.model_validate({"model": spec, "inputs": inputs, "outputs": 2}))
        checkpoints = None if checkpoint_dir is None else TrainingCheckpoints(checkpoint_dir, every_steps=3, keep=100)
        tx = build_optimizer(OptimizerSpec(learning_rate=0.01), total_steps=2 * STEPS)
        fit_with(
            model, tx, {"epochs": 2, "patience": None}, TrainingData(toy_images(256, 0), toy_images(64, 1)), checkpoints
        )
        if checkpoints is not None:
            checkpoints.close()
        return [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))]

    reference = images(tmp_path / "run")
    for path in (tmp_path / "run").iterdir():
        if path.name.isdigit() and int(path.name) > 6:
            shutil.rmtree(path)  # died after the checkpoint of step 6
    with caplog.at_level(logging.INFO, logger="flaxline.engine.checkpoints"):
        resumed = images(tmp_path / "run")
    assert "resuming from the checkpoint of step 6 " in caplog.text
    assert all(np.array_equal(a, b) for a, b in zip(resumed, reference, strict=True))
