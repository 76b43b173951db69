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
        ({"schedule": "step"}, "schedule: 'step' is not one of constant, warmup_cosine"),
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
