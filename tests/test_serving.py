"""Scoring new texts and the HTTP service: the service's answers are the scorer's, bad requests are 4xx with one line
and never reach the model, concurrent requests are batched together; then `flaxline serve` as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from flaxline.inputs import encoding_digest
from flaxline.models import ModelConfig, build_model
from flaxline.models.serialization import ModelArtifact
from flaxline.serving.scoring import TextScorer, batch_sizes
from flaxline.serving.service import Batcher, ServiceSpec, create_app
from flaxline.text.cleaning import CleaningPolicy, clean_text
from flaxline.text.tokenizer import TokenizerSpec, fit_encoding
from tests.conftest import latest

CLASSES = ["negative", "neutral", "positive"]
TEXTS = ["what a great day", "this is awful", "meh, the bus was late again", "love it", "@someone see http://x.y"]


@pytest.fixture(scope="module")
def scorer() -> TextScorer:
    tokenizer, encoding = fit_encoding(TEXTS * 2, TokenizerSpec(min_frequency=1), len(CLASSES))
    encoding = encoding.model_copy(update={"classes": tuple(CLASSES)}).model_dump(mode="json")
    config = ModelConfig.model_validate(
        {
            "model": {"name": "lstm", "embed_dim": 8, "hidden_dim": 8},
            "inputs": encoding["inputs"],
            "outputs": 3,
            "temperature": 1.5,
            "classes": CLASSES,
            "encoding_digest": encoding_digest(encoding),
        }
    )
    return TextScorer(ModelArtifact(build_model(config), config), tokenizer, encoding, "text", CleaningPolicy(), 8)


def test_batch_sizes_are_powers_of_two_up_to_the_largest():
    assert batch_sizes(64) == [1, 2, 4, 8, 16, 32, 64] and batch_sizes(48) == [1, 2, 4, 8, 16, 32, 48]
    assert batch_sizes(1) == [1]


def test_scores_do_not_depend_on_the_batch_a_text_is_scored_in(scorer):
    alone = np.concatenate([scorer.probabilities([text]) for text in TEXTS])
    together = scorer.probabilities(TEXTS * 3)  # 15 rows: batches of 8
    np.testing.assert_allclose(together, np.tile(alone, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(alone.sum(axis=1), 1.0, rtol=1e-6)


def test_rows_are_scored_or_rejected_with_their_reason_and_keep_their_columns(scorer):
    raw = pd.DataFrame({"text": [*TEXTS, "", "&nbsp;"], "id": list("abcdefg")})
    kept, rejected = scorer.score(raw)
    assert kept["id"].tolist() == list("abcde") and kept["row"].tolist() == [1, 2, 3, 4, 5]
    assert rejected[["id", "reason"]].values.tolist() == [["f", "missing_text"], ["g", "empty_after_cleaning"]]
    probabilities = kept[[f"probability_{name}" for name in CLASSES]].to_numpy()
    cleaned = [clean_text(text, CleaningPolicy()).text for text in TEXTS]
    assert cleaned[-1] == "@user see URL"
    np.testing.assert_allclose(probabilities, scorer.probabilities(cleaned))
    assert kept["text"].tolist() == TEXTS  # the raw texts, as given
    with pytest.raises(ValueError, match="new rows: column 'text' is missing; the columns are 'id'"):
        scorer.score(raw[["id"]], "new rows")


@pytest.fixture(scope="module")
def client(scorer):
    spec = ServiceSpec(max_texts=4, max_text_characters=100, max_body_bytes=2000, batch_rows=8, batch_wait_ms=5.0)
    with TestClient(create_app(scorer, spec, {"task": "tweets", "model_version": "v1"})) as client:
        yield client


def test_the_service_answers_as_the_scorer_does(client, scorer):
    answer = client.post("/predict", json=TEXTS[:3] + [""])
    assert answer.status_code == 200
    predictions = answer.json()["predictions"]
    expected = scorer.probabilities(TEXTS[:3])
    for prediction, shares in zip(predictions[:3], expected, strict=True):
        assert prediction["class"] == CLASSES[int(shares.argmax())]
        np.testing.assert_allclose([prediction["probabilities"][name] for name in CLASSES], shares, rtol=1e-6)
    assert predictions[3] == {"rejected": "missing_text", "detail": ""}
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/version").json() == {"task": "tweets", "model_version": "v1"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"[1, 2", 400, "the body is not JSON"),
        (b'{"texts": ["a"]}', 422, "expected a JSON list of texts, not a dict"),
        (b"[]", 422, "the list of texts is empty"),
        (b'["a", 3]', 422, "item 1 is int 3, not a text"),
        (b'["a", null]', 422, "item 1 is NoneType None, not a text"),
        (json.dumps(["a"] * 5).encode(), 413, "5 texts in one request; at most 4"),
        (json.dumps(["a" * 101]).encode(), 413, "item 0 has 101 characters; at most 100"),
        (json.dumps(["a" * 3000]).encode(), 413, "a body of 3004 bytes; at most 2000"),
        (b"\xff\xfe", 400, "the body is not JSON"),
    ],
)
def test_a_bad_request_is_one_4xx_line_and_the_service_goes_on(client, body, status, message):
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status and message in answer.json()["detail"]
    assert "\n" not in answer.json()["detail"]
    assert client.post("/predict", json=["still here"]).status_code == 200


def test_requests_waiting_together_are_scored_in_one_batch():
    calls: list[int] = []

    def score(texts: list[str]) -> list[dict]:
        calls.append(len(texts))
        return [{"text": text} for text in texts]

    async def requests() -> list[list[dict]]:
        batcher = Batcher(score, rows=16, wait_seconds=0.05)
        running = asyncio.create_task(batcher.run())
        answers = await asyncio.gather(*(batcher.submit([f"{n}a", f"{n}b"]) for n in range(5)))
        running.cancel()
        return answers

    answers = asyncio.run(requests())
    assert calls == [10]  # five requests, one batch
    assert answers == [[{"text": f"{n}a"}, {"text": f"{n}b"}] for n in range(5)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_flaxline_serve_answers_as_batch_inference_and_survives_garbage(small_project_run):
    root, port = small_project_run, free_port()
    test_rows = pd.read_parquet(root / "data/03_primary/tweets/test.parquet")
    predictions = pd.read_parquet(latest(root / "data/07_model_output/tweets/test_predictions.parquet"))
    server = subprocess.Popen(
        [sys.executable, "-m", "flaxline", "serve", "--env", "test", "--port", str(port)],
        cwd=root,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                    assert json.loads(answer.read()) == {"status": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/version", timeout=5) as answer:
            version = json.loads(answer.read())
        saved = sorted(p.name for p in (root / "data/06_models/tweets/model.safetensors").iterdir())
        assert version["task"] == "tweets" and version["model_version"] == saved[-1]
        texts = test_rows["text"].tolist()[:40]
        with ThreadPoolExecutor(8) as clients:  # garbage and good requests at once
            garbage = clients.map(lambda body: post(f"{base}/predict", body), [b"{not json", b"[]", b"[1]"] * 3)
            good = list(clients.map(lambda text: post(f"{base}/predict", json.dumps([text]).encode()), texts))
        assert {status for status, _ in garbage} == {400, 422}
        served = [answer["predictions"][0] for status, answer in good if status == 200]
        assert len(served) == len(texts)
        # The evaluation stage's fp32 probabilities of the same (clean) texts.
        for prediction, (_, row) in zip(served, predictions.head(len(texts)).iterrows(), strict=True):
            shares = [prediction["probabilities"][name] for name in CLASSES]
            np.testing.assert_allclose(shares, [row[f"probability_{name}"] for name in CLASSES], atol=1e-5)
            assert prediction["class"] == row["predicted"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode is not None
