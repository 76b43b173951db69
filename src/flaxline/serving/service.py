"""The HTTP service of a saved text model (FastAPI): ``POST /predict`` scores a JSON list of texts as batch inference
does, ``GET /health``, ``GET /version``.

Every batch shape is compiled before the first request is accepted. Requests are batched dynamically: the first
waiting request opens a batch, the others that arrive within ``batch_wait_ms`` (up to ``batch_rows`` texts) join it,
and one compiled forward pass scores them all, off the event loop, so the service keeps accepting and refusing
requests while the model runs. A bad request is refused, before it reaches the model, with a 4xx status and one line
(``{"detail": ...}``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.errors import shown
from flaxline.serving.scoring import TextScorer

logger = logging.getLogger(__name__)


class ServiceSpec(Settings):
    """The limits of one request, and how requests are batched."""

    max_texts: PositiveInt = Field(256, description="texts one request may send; more is refused (413)")
    max_text_characters: PositiveInt = Field(20_000, description="characters one text may have; more is refused (413)")
    max_body_bytes: PositiveInt = Field(4_000_000, description="bytes one request body may have; more is refused (413)")
    batch_rows: PositiveInt = Field(64, description="texts the model scores at once, from one or several requests")
    batch_wait_ms: float = Field(2.0, ge=0.0, description="how long a batch waits for more requests to join it")


def predictions_of(scorer: TextScorer, texts: list[str]) -> list[dict[str, Any]]:
    """Each text's class and class probabilities, or its rejection reason, in order."""
    kept, rejected = scorer.score(pd.DataFrame({scorer.text_column: texts}), "request")
    results: list[dict[str, Any]] = [{} for _ in texts]
    probabilities = kept[[f"probability_{name}" for name in scorer.classes]].to_numpy()
    for row, predicted, shares in zip(kept["row"], kept["predicted"], probabilities, strict=True):
        results[row - 1] = {
            "class": predicted,
            "probabilities": {name: float(share) for name, share in zip(scorer.classes, shares, strict=True)},
        }
    for row in rejected.itertuples(index=False):
        results[row.row - 1] = {"rejected": row.reason, "detail": row.detail}
    return results


@dataclass
class Batcher:
    """Gathers the texts of requests waiting together into batches of at most ``rows`` texts for ``score``."""

    score: Callable[[list[str]], list[dict[str, Any]]]
    rows: int
    wait_seconds: float
    queue: asyncio.Queue[tuple[list[str], asyncio.Future]] = field(default_factory=asyncio.Queue)

    async def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def run(self) -> None:
        while True:
            waiting = [await self.queue.get()]
            deadline = asyncio.get_running_loop().time() + self.wait_seconds
            while sum(len(texts) for texts, _ in waiting) < self.rows:
                try:
                    waiting.append(
                        await asyncio.wait_for(self.queue.get(), deadline - asyncio.get_running_loop().time())
                    )
                except TimeoutError:
                    break
            await self._scored(waiting)

    async def _scored(self, waiting: list[tuple[list[str], asyncio.Future]]) -> None:
        texts = [text for request, _ in waiting for text in request]
        try:
            results = await asyncio.to_thread(self.score, texts)
        except Exception as error:  # a failure of the model is each waiting request's 500, not the service's end
            logger.exception("scoring a batch of %d texts failed", len(texts))
            for _, future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        start = 0
        for request, future in waiting:
            if not future.done():  # its client may have gone
                future.set_result(results[start : start + len(request)])
            start += len(request)


def texts_of(body: bytes, spec: ServiceSpec) -> list[str]:
    """The texts of a request body (a JSON list of strings); a 4xx ``HTTPException`` saying what is wrong otherwise."""
    try:
        texts = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(400, f"the body is not JSON ({error})") from None
    if not isinstance(texts, list):
        raise HTTPException(422, f"expected a JSON list of texts, not a {type(texts).__name__}")
    if not texts:
        raise HTTPException(422, "the list of texts is empty")
    if len(texts) > spec.max_texts:
        raise HTTPException(413, f"{len(texts)} texts in one request; at most {spec.max_texts}")
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise HTTPException(422, f"item {position} is {type(text).__name__} {shown(text)}, not a text")
        if len(text) > spec.max_text_characters:
            raise HTTPException(413, f"item {position} has {len(text)} characters; at most {spec.max_text_characters}")
    return texts


async def capped_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) as soon as it is known to pass ``limit`` bytes, before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"a body of {declared} bytes; at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"a body of more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(scorer: TextScorer, spec: ServiceSpec, version: dict[str, Any]) -> FastAPI:
    """The service of ``scorer``'s model; ``version`` is what ``GET /version`` answers (task, model version, ...)."""
    batcher = Batcher(lambda texts: predictions_of(scorer, texts), spec.batch_rows, spec.batch_wait_ms / 1000)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        shapes = await asyncio.to_thread(scorer.warm_up)
        logger.info("compiled %d batch shapes in %.1f s", shapes, time.perf_counter() - started)
        task = asyncio.create_task(batcher.run())
        yield
        task.cancel()

    app = FastAPI(title="flaxline", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    async def model_version() -> dict[str, Any]:
        return version

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        texts = texts_of(await capped_body(request, spec.max_body_bytes), spec)
        return JSONResponse({"predictions": await batcher.submit(texts)})

    return app
