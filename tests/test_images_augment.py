import jax.numpy as jnp
import numpy as np
from flax import nnx

from flaxline.images.augment import Augment, AugmentationSpec

IMAGES = jnp.asarray(np.random.default_rng(0).integers(0, 255, (16, 10, 10, 1)), jnp.float32)


def augment(seed: int = 0, **settings) -> Augment:
    return Augment(AugmentationSpec.model_validate(settings), rngs=nnx.Rngs(seed))


def test_off_or_in_evaluation_mode_it_is_the_identity():
    np.testing.assert_array_equal(augment()(IMAGES), IMAGES)
    evaluating = augment(shift=2.0, rotation=15.0, flip=True)
    evaluating.eval()
    np.testing.assert_array_equal(evaluating(IMAGES), IMAGES)


def test_the_same_seed_draws_the_same_changes_and_each_call_draws_anew():
    first, again, other = (
        augment(0, shift=2.0, rotation=15.0),
        augment(0, shift=2.0, rotation=15.0),
        augment(1, shift=2.0, rotation=15.0),
    )
    drawn = first(IMAGES)
    np.testing.assert_array_equal(drawn, again(IMAGES))
    assert not np.allclose(drawn, other(IMAGES))
    assert not np.allclose(drawn, first(IMAGES))  # the RNG state moved on
    assert not np.allclose(drawn, IMAGES)


def test_flips_mirror_whole_images_and_leave_the_rest():
    flipped = np.asarray(augment(3, flip=True)(IMAGES))
    mirrored = [
        np.array_equal(after, before[:, ::-1]) for after, before in zip(flipped, np.asarray(IMAGES), strict=True)
    ]
    kept = [np.array_equal(after, before) for after, before in zip(flipped, np.asarray(IMAGES), strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True)) and 0 < sum(mirrored) < len(IMAGES)


def test_a_whole_pixel_shift_moves_the_content_without_changing_it():
    image = jnp.zeros((1, 9, 9, 1)).at[0, 4, 4, 0].set(1.0)
    moved = np.asarray(augment(5, shift=3.0)(jnp.repeat(image, 8, axis=0)))
    assert np.allclose(
        moved.sum(axis=(1, 2, 3)), 1.0, atol=1e-5
    )  # bilinear: the one bright pixel's mass, spread, all inside
    assert not np.allclose(moved, np.asarray(image))
