"""flaxline's `lstm` under the peers' SST-2 protocol, through the project's own engine.

    uv run python benchmarks/sst2_protocol.py --data-dir ../shared/datasets/sst2
    ../shared/bench/compare.py --peer torch-packed -- \\
        uv run python benchmarks/sst2_protocol.py --data-dir ../shared/datasets/sst2

Protocol (../shared/bench/peers/common.py): lower-cased whitespace tokens, every train token in
the vocabulary (ids by count, PAD=0, UNK=1), length 64, Embedding 128 → LSTM 256 → Dense 2,
Adam 1e-3, batch 64, 2 epochs, per-epoch permutations from numpy's default_rng(0). Batches skip
padding work, as packed PyTorch does: training batches group sentences of similar length
(windows of 100 batches sorted by length, batch order shuffled) and are cut to their longest
sentence rounded up to 4; inference batches (the test set sorted by length) are cut exactly,
and the LSTM's input projections come from a [vocab, 4H] table (``for_inference``). Prints one JSON line
with the peers' fields: train_ex_per_s (epoch 2), infer_ex_per_s (test set in batches of 64
after a warm-up pass, repeated for at least 3 s) and test_acc, plus the useful FLOP rate.

Inference is timed in float32 and in bfloat16 (the recurrent products in bf16, accumulated in
fp32, gates and state in fp32, as the evaluation stage's ``compute_dtype: bfloat16``); the line
carries both throughputs and accuracies and how many test predictions the two agree on, and reports
``--infer-dtype`` (default auto: what the evaluation stage computes in on this machine, float32 on a
CPU) as ``infer_ex_per_s``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from flax import nnx

from flaxline.engine.batching import Batching
from flaxline.engine.devices import resolve_placement
from flaxline.engine.inference import batched_outputs, make_forward
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.models import TokenInputs
from flaxline.text.tokenizer import TokenizerSpec, fit_tokenizer
from sst2_data import encode_sst2, read_sst2

EMBED, HIDDEN, MAX_LENGTH, BATCH, EPOCHS = 128, 256, 64, 64, 2
PEAK_GFLOPS = 2 * 2.6 * 32  # 2 cores × 2.6 GHz × 32 FP32 FLOP/cycle (AVX-512 FMA)


def lstm_flops_per_token(forward_and_backward: bool) -> float:
    """Multiply-adds ×2 of the LSTM's four gates per token; backward costs about twice the forward."""
    forward = 2 * 4 * HIDDEN * (EMBED + HIDDEN)
    return forward * (3 if forward_and_backward else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--bucket-window-batches", type=int, default=100, help="0: plain shuffled batches")
    parser.add_argument("--length-multiple", type=int, default=4, help="batch widths are rounded up to this")
    parser.add_argument("--infer-length-multiple", type=int, default=1, help="the same for inference batches")
    parser.add_argument("--unroll", type=int, default=1, help="LSTM time steps per compiled loop iteration")
    parser.add_argument(
        "--infer-dtype",
        default="auto",
        choices=["auto", "bfloat16", "float32"],
        help="compute dtype of the reported inference (auto: what the evaluation stage uses here)",
    )
    args = parser.parse_args()
    infer_dtype = resolve_placement("auto", args.infer_dtype, False).compute_dtype

    splits = read_sst2(args.data_dir)
    every_token = TokenizerSpec(pre_tokenizer="whitespace_split", min_frequency=1, max_vocab_size=None)
    tokenizer = fit_tokenizer(splits["train"][0], every_token)
    data = encode_sst2(tokenizer, splits, MAX_LENGTH)

    spec = TrainingSpec.model_validate(
        {
            "model": {"name": "lstm", "embed_dim": EMBED, "hidden_dim": HIDDEN, "unroll": args.unroll},
            "optimizer": {"name": "adam", "learning_rate": 1e-3},
            "loop": {
                "epochs": args.epochs,
                "batch_size": BATCH,
                "seed": 0,
                "patience": None,
                "eval_batch_size": 256,
                "bucket_window_batches": args.bucket_window_batches,
                "length_multiple": args.length_multiple,
            },
        }
    )
    inputs = TokenInputs(vocab_size=tokenizer.get_vocab_size())
    trained = train(spec, TrainingData(data["train"], data["validation"], ("ids",)), inputs, 2)
    model, history = trained.model, trained.history

    graphdef, params, rest = nnx.split(model.for_inference(), nnx.Param, ...)
    test = data["test"]
    batching = Batching(BATCH, ("ids",), length_multiple=args.infer_length_multiple)
    predictions, infer_ex_per_s = {}, {}
    for dtype in ("float32", "bfloat16"):
        forward = make_forward(graphdef, dtype)
        predictions[dtype] = batched_outputs(forward, params, rest, test, batching).argmax(
            axis=1
        )  # also the warm-up pass
        passes, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < 3.0 or passes < 2:
            batched_outputs(forward, params, rest, test, batching)
            passes += 1
            elapsed = time.perf_counter() - started
        infer_ex_per_s[dtype] = len(test["labels"]) * passes / elapsed
    test_acc = {dtype: float((predicted == test["labels"]).mean()) for dtype, predicted in predictions.items()}

    train_seconds = history[-1]["train_seconds"]
    train_tokens = int(data["train"]["lengths"].sum())
    useful_gflops = lstm_flops_per_token(True) * train_tokens / train_seconds / 1e9
    print(
        json.dumps(
            {
                "peer": "flaxline",
                "train_ex_per_s": round(len(data["train"]["labels"]) / train_seconds, 1),
                "infer_ex_per_s": round(infer_ex_per_s[infer_dtype], 1),
                "test_acc": round(test_acc[infer_dtype], 4),
                "infer_dtype": infer_dtype,
                "infer_ex_per_s_by_dtype": {dtype: round(value, 1) for dtype, value in infer_ex_per_s.items()},
                "test_acc_by_dtype": {dtype: round(value, 4) for dtype, value in test_acc.items()},
                "bfloat16_agrees_with_float32": round(
                    float((predictions["bfloat16"] == predictions["float32"]).mean()), 4
                ),
                "epoch_train_s": [round(record["train_seconds"], 2) for record in history],
                "epoch_loss": [round(record["train_loss"], 4) for record in history],
                "vocab_size": tokenizer.get_vocab_size(),
                "useful_train_gflop_per_s": round(useful_gflops, 1),
                "useful_fraction_of_peak": round(useful_gflops / PEAK_GFLOPS, 3),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
