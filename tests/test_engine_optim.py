import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flaxline.engine.optim import (
    OptimizerSpec,
    averaged_parameters,
    build_optimizer,
    build_schedule,
    with_parameter_average,
)
from flaxline.errors import InputError


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("schedule", ["constant", "warmup_cosine"])
def test_every_optimizer_minimises_a_quadratic(name, schedule):
    spec = OptimizerSpec.model_validate(
        {"name": name, "learning_rate": 0.1, "schedule": schedule, "warmup_fraction": 0.1, "clip_global_norm": 10.0}
    )
    tx = build_optimizer(spec, total_steps=200)
    params = {"w": jnp.array([3.0, -2.0])}
    state = tx.init(params)
    grad = jax.grad(lambda p: jnp.sum(p["w"] ** 2))
    for _ in range(200):
        updates, state = tx.update(grad(params), state, params)
        params = optax.apply_updates(params, updates)
    assert float(jnp.abs(params["w"]).max()) < 0.3


def test_warmup_linear_is_berts_schedule():
    schedule = build_schedule(2.0, "warmup_linear", total_steps=100, warmup_fraction=0.1)
    assert [float(schedule(step)) for step in (0, 5, 10, 55, 100)] == pytest.approx([0.0, 1.0, 2.0, 1.0, 0.0])


def test_adamw_decays_matrices_but_not_biases_or_norms():
    tx = build_optimizer(OptimizerSpec(name="adamw", learning_rate=0.1, weight_decay=0.5), total_steps=10)
    params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}
    zero = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zero, tx.init(params), params)
    assert float(updates["kernel"][0, 0]) == pytest.approx(-0.05) and float(jnp.abs(updates["bias"]).max()) == 0.0


def test_layer_decay_scales_each_depth_and_frozen_layers_never_move():
    params = {"embed": jnp.ones(3), "block": jnp.ones(3), "head": jnp.ones(3)}
    depths = {"embed": 0, "block": 1, "head": 2}
    spec = OptimizerSpec(name="sgd", learning_rate=1.0, layer_decay=0.5)
    grads = jax.tree.map(jnp.ones_like, params)
    tx = build_optimizer(spec, total_steps=1, depths=depths)
    updates, _ = tx.update(grads, tx.init(params), params)
    assert {name: float(value[0]) for name, value in updates.items()} == {"embed": -0.25, "block": -0.5, "head": -1.0}
    frozen = build_optimizer(spec.model_copy(update={"freeze_layers": 2}), total_steps=1, depths=depths)
    updates, _ = frozen.update(grads, frozen.init(params), params)
    assert {name: float(value[0]) for name, value in updates.items()} == {"embed": 0.0, "block": 0.0, "head": -1.0}
    with pytest.raises(InputError, match="freeze_layers 3 is more than the model's 2 layers"):
        build_optimizer(spec.model_copy(update={"freeze_layers": 3}), total_steps=1, depths=depths)
    with pytest.raises(InputError, match="layer_decay and freeze_layers need a model with layers"):
        build_optimizer(spec, total_steps=1)


def test_accumulation_applies_the_mean_gradient_every_k_batches():
    tx = build_optimizer(OptimizerSpec(name="sgd", learning_rate=1.0, accumulation_steps=2), total_steps=4)
    params = {"w": jnp.zeros(1)}
    state = tx.init(params)
    applied = []
    for gradient in (1.0, 3.0, 5.0, 7.0):
        updates, state = tx.update({"w": jnp.full(1, gradient)}, state, params)
        params = optax.apply_updates(params, updates)
        applied.append(float(params["w"][0]))
    assert applied == [0.0, -2.0, -2.0, -8.0]


def test_warmup_cosine_rises_then_falls_to_zero():
    schedule = build_schedule(1.0, "warmup_cosine", total_steps=100, warmup_fraction=0.1)
    assert (
        float(schedule(0)) == 0.0
        and float(schedule(10)) == pytest.approx(1.0)
        and float(schedule(100)) == pytest.approx(0.0)
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "rmsprop"}, "name: 'rmsprop' is not one of sgd, momentum, adam, adamw"),
        ({"schedule": "step"}, "schedule: 'step' is not one of constant, warmup_cosine, warmup_linear"),
        ({"layer_decay": 1.5}, "layer_decay: input should be less than or equal to 1"),
        ({"learning_rate": -0.1}, "learning_rate: must be positive, not -0.1"),
        ({"lr": 0.1}, "unknown setting 'lr'; known: name, learning_rate, schedule"),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(settings, message):
    with pytest.raises(InputError, match=f"^{message}"):
        OptimizerSpec.model_validate(settings)


def test_parameter_average_is_the_debiased_moving_average_of_the_trajectory():
    params = {"w": jnp.array([1.0, -2.0])}
    tx = with_parameter_average(optax.sgd(0.1), decay=0.9)
    state = tx.init(params)
    trajectory = []
    for _ in range(5):
        updates, state = tx.update({"w": 2 * params["w"]}, state, params)  # gradient of |w|²
        params = optax.apply_updates(params, updates)
        trajectory.append(np.asarray(params["w"]))
    weights = 0.1 * 0.9 ** np.arange(4, -1, -1)
    expected = (weights[:, None] * np.stack(trajectory)).sum(axis=0) / (1 - 0.9**5)
    np.testing.assert_allclose(averaged_parameters(state, 0.9)["w"], expected, rtol=1e-6)
