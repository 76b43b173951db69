import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from flaxline.engine.checkpoints import TrainingCheckpoints, remove_checkpoints, run_fingerprint
from flaxline.engine.optim import build_optimizer
from flaxline.engine.trainer import TrainingConfig, fit
from flaxline.models import build_model
from flaxline.models.serialization import model_to_bytes
from tests.test_engine_trainer import toy_task

EPOCHS, STEPS = 3, 8  # 256 examples in batches of 32


def train(checkpoint_dir=None, every_steps=3):
    """Dropout and bucketed batches, so RNG and data-order state both have to survive a restart."""
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16, dropout=0.2, token_dropout=0.1)
    config = TrainingConfig(epochs=EPOCHS, batch_size=32, patience=None, bucket_window_batches=2, progress_every_steps=5)
    tx = build_optimizer("adam", 0.01, total_steps=EPOCHS * STEPS)
    if checkpoint_dir is None:
        history = fit(model, tx, toy_task(256, 0), toy_task(64, 1), config)
    else:
        checkpoints = TrainingCheckpoints(checkpoint_dir, every_steps=every_steps, keep=100)
        history = fit(model, tx, toy_task(256, 0), toy_task(64, 1), config, checkpoints)
        checkpoints.close()
    return model_to_bytes(model, {}), [(r["train_loss"], r["validation_loss"]) for r in history]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkpoints")
    reference = train()
    with_checkpoints = train(directory)
    assert with_checkpoints == reference  # writing checkpoints changes nothing
    return directory, reference


def test_checkpoints_every_n_steps_and_at_epoch_ends(uninterrupted):
    directory, _ = uninterrupted
    steps = sorted(int(path.name) for path in directory.iterdir() if path.name.isdigit())
    # Mid-epoch every 3 steps of each 8-step epoch, and the ends of epochs 1 and 2 (the last epoch ends the run).
    assert steps == [3, 6, 8, 11, 14, 16, 19, 22]


@pytest.mark.parametrize("resume_from", [11, 16], ids=["mid_epoch", "epoch_end"])
def test_a_run_resumed_from_a_checkpoint_ends_byte_identical(uninterrupted, tmp_path, resume_from):
    directory, reference = uninterrupted
    crashed = tmp_path / "crashed"
    shutil.copytree(directory, crashed)
    for path in crashed.iterdir():  # the run "died" right after writing the checkpoint of `resume_from`
        if path.name.isdigit() and int(path.name) > resume_from:
            shutil.rmtree(path)
    assert train(crashed) == reference


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
    assert train(crashed) == reference


def test_run_fingerprint_follows_settings_and_data():
    arrays = {"ids": np.arange(6).reshape(2, 3), "labels": np.array([0, 1])}
    same = run_fingerprint({"lr": 0.1, "epochs": 2}, {k: v.copy() for k, v in arrays.items()})
    assert run_fingerprint({"epochs": 2, "lr": 0.1}, arrays) == same
    assert run_fingerprint({"lr": 0.2, "epochs": 2}, arrays) != same
    assert run_fingerprint({"lr": 0.1, "epochs": 2}, arrays | {"labels": np.array([1, 0])}) != same


def test_divergence_leaves_the_last_good_checkpoint(tmp_path):
    model = build_model("lstm", vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=16)
    # The 6th update is NaN: the parameters go bad one step before any loss could show it.
    tx = optax.sgd(lambda count: jnp.where(count < 5, 0.01, jnp.nan))
    checkpoints = TrainingCheckpoints(tmp_path, every_steps=1, keep=2)
    with pytest.raises(FloatingPointError, match=r"^training diverged: non-finite parameters after epoch 1, step 6;"):
        fit(model, tx, toy_task(256, 0), toy_task(64, 1), TrainingConfig(epochs=2, batch_size=32, patience=None), checkpoints)
    checkpoints.close()
    params, rest = nnx.split(model, nnx.Param, ...)[1:]
    reopened = TrainingCheckpoints(tmp_path)
    assert reopened.manager.all_steps() == [4, 5]
    arrays, loop = reopened.restore_latest({"state": (params, rest, tx.init(params)), "best": params})
    reopened.close()
    assert loop["steps_done"] == 5
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(arrays["state"][0]))


def test_removed_checkpoints_leave_nothing(tmp_path):
    run = tmp_path / "0123abcd"
    (run / "8").mkdir(parents=True)
    (run / "8" / "data").write_bytes(b"x")
    remove_checkpoints(run)
    assert list(tmp_path.iterdir()) == []
    remove_checkpoints(run)  # nothing left: no error
