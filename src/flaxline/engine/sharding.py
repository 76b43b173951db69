"""Data parallelism over every local device: a one-axis mesh over the batch, parameters replicated."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from flaxline.errors import InputError

BATCH_AXIS = "batch"


def batch_mesh(*batch_sizes: int) -> Mesh:
    """A mesh of all local devices along the batch axis; every batch size must split evenly over them."""
    devices = jax.local_devices()
    for size in batch_sizes:
        if size % len(devices):
            raise InputError(f"a batch of {size} does not split over {len(devices)} devices for data parallelism")
    return Mesh(np.asarray(devices), (BATCH_AXIS,))


def replicate(tree, mesh: Mesh):
    """Every array of ``tree`` copied to every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(arrays, mesh: Mesh):
    """Each array split along its first (batch) axis over the mesh's devices."""
    return jax.device_put(arrays, NamedSharding(mesh, PartitionSpec(BATCH_AXIS)))
