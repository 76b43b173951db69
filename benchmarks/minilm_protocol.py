"""flaxline's `pretrained_encoder` (all-MiniLM-L6-v2) under the MiniLM fine-tuning protocol, through the engine.

    uv run python benchmarks/minilm_protocol.py --data-dir ../shared/datasets/sst2
    ../shared/bench/compare.py --peer torch-minilm -- \\
        uv run python benchmarks/minilm_protocol.py --data-dir ../shared/datasets/sst2

Protocol (../shared/bench/peers/peer_torch_minilm.py): the model's own WordPiece tokens, [CLS] … [SEP],
truncated to 64; mean pooling over real tokens → dropout 0.1 → Linear(384, 2); AdamW 1e-4, weight
decay 0.01 (not on biases and LayerNorms), linear warm-up over 10 % of the steps then linear decay,
clipping at global norm 1.0, batch 32; the first 600 batches' rows of numpy default_rng(0)'s
permutation of train.tsv. The engine's batching decides what a batch computes: those 19,200 rows are
grouped by length in windows of 8 batches (batch order shuffled) and each batch is cut to its longest
sentence rounded up to 8, where the peer pads each batch of the permutation to its own longest. Every
batch width is compiled before step 1 (``--no-precompile``: as each first occurs). Train ex/s over steps
101–600; inference over test.tsv in batches of 64 (sorted by length, cut to each batch's longest) after
a warm-up pass, repeated for at least 3 s; then the same for the model quantized to int8 as
`<task>.compression` does it (`int8_*` fields). Prints one JSON line with the peer's fields, the useful
FLOP rate (real tokens only) against the CPU's peak, and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from flaxline.compression.quantization import QuantizationSpec, quantized
from flaxline.engine.batching import Batching, bucketed_batches
from flaxline.engine.inference import batched_outputs, examples_per_second, make_forward, predict
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from flaxline.engine.step import make_train_step
from flaxline.losses import softmax_cross_entropy
from flaxline.models import ModelConfig, initial_model
from flaxline.text.tokenizer import TokenizerSpec, encode, fit_encoding
from sst2_protocol import PEAK_GFLOPS

MAX_PIECES, BATCH, MAX_STEPS, TIMED_FROM, LR, INFER_BATCH = 64, 32, 600, 100, 1e-4, 64


def read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    """``sentence<TAB>label`` rows after a header, as the peer reads them."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.rsplit("\t", 1) for line in lines if line]
    return [sentence for sentence, _ in rows], np.asarray([int(label) for _, label in rows], np.int32)


def encoder_flops_per_token(config, width: float, backward: bool) -> float:
    """2 × multiply-adds of the blocks' projections and attention per token (embeddings are gathers);
    backward costs about twice the forward."""
    hidden, inner = config.hidden_size, config.intermediate_size
    per_layer = 2 * (4 * hidden * hidden + 2 * hidden * inner) + 2 * 2 * width * hidden
    return config.num_hidden_layers * per_layer * (3 if backward else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS)
    parser.add_argument(
        "--bucket-window-batches",
        type=int,
        default=8,
        help="batches sorted by length together (0: the permutation's own batches); windows of 100 cost 2 points "
        "of accuracy within the 600 steps",
    )
    parser.add_argument("--length-multiple", type=int, default=8, help="batch widths are rounded up to this")
    parser.add_argument("--no-precompile", action="store_true", help="compile each batch width when it first occurs")
    parser.add_argument("--rep", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()

    train_texts, train_labels = read_tsv(args.data_dir / "train.tsv")
    test_texts, test_labels = read_tsv(args.data_dir / "test.tsv")
    order = np.random.default_rng(0).permutation(len(train_texts))[: args.max_steps * BATCH]
    chosen = [train_texts[i] for i in order]
    tokenizer, encoding = fit_encoding(chosen, TokenizerSpec(tokenizer_model="pretrained", max_length=MAX_PIECES), 2)
    ids, lengths = encode(tokenizer, chosen, MAX_PIECES)
    train = {"ids": ids, "lengths": lengths, "labels": train_labels[order]}
    test_ids, test_lengths = encode(tokenizer, test_texts, MAX_PIECES)
    test = {"ids": test_ids, "lengths": test_lengths, "labels": test_labels}

    config, model = initial_model(
        ModelConfig.model_validate({"model": {"name": "pretrained_encoder"}, "inputs": encoding.inputs, "outputs": 2})
    )
    steps = args.max_steps
    optimizer = OptimizerSpec(
        name="adamw",
        learning_rate=LR,
        schedule="warmup_linear",
        warmup_fraction=0.1,
        weight_decay=0.01,
        clip_global_norm=1.0,
    )
    tx = build_optimizer(optimizer, total_steps=steps, depths=model.depths())
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    opt_state = tx.init(params)
    train_step = make_train_step(graphdef, tx, softmax_cross_entropy(np.ones(2, np.float32)))
    batching = Batching(BATCH, ("ids",), args.length_multiple)
    rows = np.arange(len(order))
    if args.bucket_window_batches:
        indices = bucketed_batches(lengths, rows, BATCH, args.bucket_window_batches, np.random.default_rng(0))
    else:
        indices = [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]
    batches = list(batching.batches(train, indices))
    widths = sorted({batch["ids"].shape[1] for batch in batches})
    compile_seconds = 0.0
    if not args.no_precompile:
        compiling = time.perf_counter()
        example = {width: next(batch for batch in batches if batch["ids"].shape[1] == width) for width in widths}
        compiled = {width: train_step.lower(params, rest, opt_state, example[width]).compile() for width in widths}
        compile_seconds = time.perf_counter() - compiling
        step_of = lambda batch: compiled[batch["ids"].shape[1]]  # noqa: E731
    else:
        step_of = lambda batch: train_step  # noqa: E731

    losses, timed_from = [], min(TIMED_FROM, steps // 2)
    for step, batch in enumerate(batches):
        if step == timed_from:
            jax.block_until_ready(params)
            timed_start = time.perf_counter()
        params, rest, opt_state, sums = step_of(batch)(params, rest, opt_state, batch)
        losses.append(sums)
    jax.block_until_ready(params)
    train_seconds = time.perf_counter() - timed_start
    losses = [float(sums["loss"] / sums["count"]) for sums in jax.device_get(losses)]
    timed_rows = sum(len(index) for index in indices[timed_from:])
    timed_tokens = int(sum(lengths[index].sum() for index in indices[timed_from:]))
    computed_tokens = sum(batch["ids"].size for batch in batches[timed_from:])

    model = nnx.merge(graphdef, params, rest)
    model.eval()
    infer_graphdef, infer_params, infer_rest = nnx.split(model, nnx.Param, ...)
    forward = make_forward(infer_graphdef)
    infer_batching = Batching(INFER_BATCH, ("ids",), length_multiple=1)
    first = time.perf_counter()
    predicted = batched_outputs(forward, infer_params, infer_rest, test, infer_batching).argmax(axis=1)
    first_pass = time.perf_counter() - first
    passes, timing = 0, time.perf_counter()
    while time.perf_counter() - timing < 3.0 or passes < 2:
        batched_outputs(forward, infer_params, infer_rest, test, infer_batching)
        passes += 1
    infer_ex_per_s = len(test_labels) * passes / (time.perf_counter() - timing)
    # The same fine-tuned model landed in int8 (the compression stage's default scheme), timed the same way.
    int8 = quantized(model, QuantizationSpec(), config.inputs)
    int8_predicted = predict(int8, test, infer_batching).argmax(axis=1)
    int8_ex_per_s = examples_per_second(int8, test, infer_batching, 3.0)

    architecture = config.model.architecture
    mean_width = timed_tokens / timed_rows
    useful = encoder_flops_per_token(architecture, mean_width, True) * timed_tokens / train_seconds / 1e9
    print(
        json.dumps(
            {
                "peer": "flaxline",
                "framework": f"jax {jax.__version__}, flax {__import__('flax').__version__}",
                "rep": args.rep,
                "steps": steps,
                "batch": BATCH,
                "train_ex_per_s": round(timed_rows / train_seconds, 1),
                "train_total_s": round(time.perf_counter() - started, 1),
                "compile_s": round(compile_seconds, 1),
                "batch_widths": widths,
                "padding_fraction": round(1 - timed_tokens / computed_tokens, 3),
                "loss_first_100": round(float(np.mean(losses[:100])), 4),
                "loss_last_100": round(float(np.mean(losses[-100:])), 4),
                "infer_ex_per_s": round(infer_ex_per_s, 1),
                "infer_first_pass_s": round(first_pass, 3),
                "infer_passes": passes,
                "test_acc": round(float((predicted == test_labels).mean()), 4),
                "int8_infer_ex_per_s": round(int8_ex_per_s, 1),
                "int8_test_acc": round(float((int8_predicted == test_labels).mean()), 4),
                "useful_train_gflop_per_s": round(useful, 1),
                "useful_fraction_of_peak": round(useful / PEAK_GFLOPS, 3),
                "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
