"""Training throughput of the zoo on whatever devices are present (a GPU or TPU, or the CPU).

    uv run python benchmarks/accelerator.py [--batch-sizes 64 256 1024] [--steps 50] [--tiny]

For each model (the LSTM protocol's `lstm` 128/256 and the zoo's `bilstm_attention` 256/256) and
each batch size, trains through the engine (`flaxline.engine.train.train`, device defaults: bf16 on
accelerators, data parallel over several devices) on synthetic SST-2-like sentences (lengths drawn
like SST-2's, vocabulary 15,000, batches bucketed by length), and prints one JSON line: examples/s
and step time of the second epoch, the model FLOP/s over real tokens (``model_flops_per_token``) and
their share of the device's peak (`--peak-tflops`, or the known peak of the device kind), and the
peak device memory. `--tiny` shrinks everything so that the script runs in seconds on a CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import numpy as np

from flaxline.engine.devices import resolve_placement
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.models import TokenInputs

# Dense bf16 peaks (TFLOP/s) of the device kinds JAX reports; a CPU's depends on its cores and clock: --peak-tflops.
PEAK_TFLOPS = {"NVIDIA H200": 989.0, "NVIDIA H100 80GB HBM3": 989.0, "NVIDIA A100-SXM4-80GB": 312.0, "TPU v5e": 197.0}
MODELS = {
    "lstm": {"name": "lstm", "embed_dim": 128, "hidden_dim": 256},
    "bilstm_attention": {"name": "bilstm_attention", "embed_dim": 256, "hidden_dim": 256, "mlp_dim": 1024},
}
TINY = {
    "lstm": {"name": "lstm", "embed_dim": 16, "hidden_dim": 16},
    "bilstm_attention": {"name": "bilstm_attention", "embed_dim": 16, "hidden_dim": 16, "mlp_dim": 32},
}


def sentences(count: int, vocab_size: int, max_length: int, seed: int) -> dict[str, np.ndarray]:
    """Token ids and lengths shaped like SST-2's phrases (lengths mostly short, a long tail), random labels."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.gamma(1.6, 6.0, count).astype(np.int32) + 1, 1, max_length)
    ids = np.zeros((count, max_length), np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(2, vocab_size, length)
    return {"ids": ids, "lengths": lengths, "labels": rng.integers(0, 2, count).astype(np.int32)}


def model_flops_per_token(settings: dict) -> float:
    """Forward and backward multiply-adds ×2 per real token: the LSTM gates (both directions for bilstm_attention, plus
    its attention projection); backward costs about twice the forward."""
    embed, hidden = settings["embed_dim"], settings["hidden_dim"]
    gates = 2 * 4 * hidden * (embed + hidden)
    if settings["name"] == "bilstm_attention":
        forward = 2 * gates + 2 * (2 * hidden) ** 2
    else:
        forward = gates
    return 3.0 * forward


def peak_memory_bytes() -> int:
    """Peak device memory where the device reports it, else this process's peak resident memory."""
    stats = jax.local_devices()[0].memory_stats() or {}
    return int(stats.get("peak_bytes_in_use") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--examples", type=int, default=16384, help="training sentences per epoch")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, when its kind is not known here")
    parser.add_argument("--tiny", action="store_true", help="tiny models and data: a check that runs in seconds")
    args = parser.parse_args()
    models, examples, vocab_size = (TINY, 512, 200) if args.tiny else (MODELS, args.examples, 15000)
    inputs = TokenInputs(vocab_size=vocab_size)
    data = TrainingData(sentences(examples, vocab_size, 64, 0), sentences(examples // 8, vocab_size, 64, 1), ("ids",))
    placement = resolve_placement("auto", "auto", "auto", *args.batch_sizes)
    kind = placement.describe()["device_kind"]
    peak = args.peak_tflops or PEAK_TFLOPS.get(kind)
    for name in args.models:
        for batch_size in args.batch_sizes:
            loop = {"epochs": 2, "batch_size": batch_size, "eval_batch_size": batch_size, "patience": None}
            if args.tiny:
                loop["length_multiple"] = 16  # few shapes to compile: the check is that it runs
            spec = TrainingSpec.model_validate({"model": models[name], "loop": loop})
            started = time.perf_counter()
            history = train(spec, data, inputs, 2).history
            wall = time.perf_counter() - started
            seconds = history[-1]["train_seconds"]
            steps = spec.loop.batching(data.token_arrays).steps(data.train)
            achieved = model_flops_per_token(models[name]) * float(data.train["lengths"].sum()) / seconds
            print(
                json.dumps(
                    {
                        "model": name,
                        "batch_size": batch_size,
                        **placement.describe(),
                        "train_ex_per_s": round(examples / seconds, 1),
                        "step_ms": round(1000 * seconds / steps, 3),
                        "model_tflop_per_s": round(achieved / 1e12, 4),
                        "utilisation": round(achieved / (peak * 1e12), 4) if peak else None,
                        "peak_memory_mb": round(peak_memory_bytes() / 2**20, 1),
                        "wall_s": round(wall, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
