"""An ensemble: several copies of one zoo model, each from its own initialisation, averaged."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class Ensemble(nnx.Module):
    """``size`` members built from ``member`` (a zoo model's name and arguments), each with its own seed.

    In evaluation mode the logits are the log of the members' mean class probabilities [B, C].
    While training they are the members' own logits stacked [size, B, C], so that the trainer
    gives each member its own loss on the same batches: averaging probabilities before the
    loss would train the members jointly and make them alike.
    """

    def __init__(self, vocab_size: int, num_classes: int, *, member: dict, size: int, rngs: nnx.Rngs):
        from flaxline.models import MODELS  # the registry lists this class: import at call time

        member = dict(member)
        name = member.pop("name", None)
        if name not in MODELS or name == "ensemble":
            raise ValueError(f"member must name a zoo model other than ensemble, not {name!r}")
        if not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be an integer of at least 2, not {size!r}")
        keys = jax.random.split(rngs.params(), size)
        self.members = nnx.List([MODELS[name](vocab_size, num_classes, rngs=nnx.Rngs(key), **member) for key in keys])
        self.deterministic = False  # set by .train() / .eval(), like Dropout's

    def for_inference(self) -> Ensemble:
        """A copy in evaluation mode whose members are their own cheaper inference copies, where they have one."""
        model = nnx.clone(self)
        model.eval()
        model.members = nnx.List([m.for_inference() if hasattr(m, "for_inference") else m for m in model.members])
        return model

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        logits = jnp.stack([member(ids, lengths) for member in self.members]).astype(jnp.float32)
        return logits if not self.deterministic else log_mean_probability(logits)


def log_mean_probability(member_logits: jax.Array) -> jax.Array:
    """The log of the members' mean class probabilities: [members, B, C] logits → [B, C]."""
    return jax.nn.logsumexp(jax.nn.log_softmax(member_logits, axis=-1), axis=0) - jnp.log(member_logits.shape[0])
