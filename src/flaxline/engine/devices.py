"""Where a run computes: the accelerator when there is one, in the dtype and layout that suit it.

Read once per run from the loop's settings (``device``, ``compute_dtype``, ``data_parallel``):
``auto`` takes the platform JAX runs on by default (a GPU or TPU when its plugin is installed,
else the CPU), bf16 compute on accelerators and fp32 on CPUs, and data parallelism over every
local device when there is more than one. An accelerator that is asked for but absent is a
warning, not a failure: the run goes on where it can.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from flaxline.errors import InputError

logger = logging.getLogger(__name__)

Platform = Literal["auto", "cpu", "gpu", "tpu"]
ACCELERATORS = ("gpu", "tpu")
BATCH_AXIS = "batch"


@dataclass(frozen=True)
class Placement:
    """The devices a run uses, the dtype it computes in, and whether it splits batches over the devices."""

    devices: tuple[Any, ...]
    compute_dtype: str
    data_parallel: bool

    @property
    def platform(self) -> str:
        return str(self.devices[0].platform)

    @property
    def mesh(self) -> Mesh:
        """A one-axis mesh of the devices along the batch (data parallelism; parameters replicated)."""
        return Mesh(np.asarray(self.devices), (BATCH_AXIS,))

    def put(self, tree: Any) -> Any:
        """``tree``'s arrays on the devices: on the one device, or replicated to every device of the mesh."""
        if self.data_parallel:
            return jax.device_put(tree, NamedSharding(self.mesh, PartitionSpec()))
        return jax.device_put(tree, self.devices[0])

    def put_batch(self, batch: Any) -> Any:
        """A batch's arrays on the devices: on the one device, or split along the batch axis over the mesh."""
        if self.data_parallel:
            return jax.device_put(batch, NamedSharding(self.mesh, PartitionSpec(BATCH_AXIS)))
        return jax.device_put(batch, self.devices[0])

    def batches_ahead(self, setting: int | str) -> int:
        """How many batches to prefetch: ``setting``, or for ``auto`` 2 on accelerators and none on a CPU."""
        if setting == "auto":
            return 2 if self.platform in ACCELERATORS else 0
        return int(setting)

    def describe(self) -> dict[str, Any]:
        """What a result records about where it came from."""
        return {
            "platform": self.platform,
            "device_kind": str(self.devices[0].device_kind),
            "device_count": len(self.devices) if self.data_parallel else 1,
            "compute_dtype": self.compute_dtype,
        }


def _devices(platform: Platform) -> tuple[Any, ...]:
    if platform == "auto":
        return tuple(jax.local_devices())
    try:
        return tuple(jax.local_devices(backend=platform))
    except RuntimeError:
        hint = " (install it: uv sync --extra gpu, or pip install 'flaxline[gpu]')" if platform == "gpu" else ""
        logger.warning(
            "device %s asked for, but JAX finds none%s; computing on %s", platform, hint, jax.default_backend()
        )
        return tuple(jax.local_devices())


def resolve_placement(
    platform: Platform, compute_dtype: str, data_parallel: bool | str, *batch_sizes: int
) -> Placement:
    """The placement the settings ask for on this machine (see the module's docstring)."""
    devices = _devices(platform)
    if compute_dtype == "auto":
        compute_dtype = "bfloat16" if devices[0].platform in ACCELERATORS else "float32"
    uneven = [size for size in batch_sizes if size % len(devices)]
    if data_parallel is True and uneven:
        raise InputError(f"a batch of {uneven[0]} does not split over {len(devices)} devices for data parallelism")
    if data_parallel == "auto":
        if len(devices) > 1 and uneven:
            logger.warning("a batch of %d does not split over %d devices: training on one", uneven[0], len(devices))
        data_parallel = len(devices) > 1 and not uneven
    placement = Placement(devices if data_parallel else devices[:1], compute_dtype, bool(data_parallel))
    logger.info("computing on %s", ", ".join(f"{key} {value}" for key, value in placement.describe().items()))
    return placement
