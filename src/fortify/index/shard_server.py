"""One shard of a sharded gallery index: a local FAISS index behind a small HTTP API.

Billion-template galleries of 512-d face templates are searched by an exhaustive fast-scan
of PQ codes with exact re-ranking (docs/scale.md), split over machines: each shard holds
the templates whose id falls to it (``id % shards``) and answers the coordinator
(:class:`~fortify.index.sharded.ShardedIndex`), which scatters every search and merges
the per-shard top k. The SQL store stays the source of truth: the coordinator's
:class:`~fortify.index.sync.IndexManager` replays the change log into the shards and
checks them, and a shard's file is only a cache it saves when told to.

Every request needs ``Authorization: Bearer <token>`` (the shared shard token), checked
before the body is read; bodies are raw little-endian arrays, at most
:data:`MAX_BODY` bytes:

* ``GET /v1/shard/stats``: dim, factory, ``ntotal``, ``is_trained``, ``train_size``;
* ``POST /v1/shard/search?k=K``: float32 queries (n, dim) -> float32 scores (n, k) then
  int64 ids (n, k); a missing slot is id -1 with score -inf;
* ``POST /v1/shard/add``: int64 ids (n) then float32 vectors (n, dim); idempotent (an id
  already held is replaced);
* ``POST /v1/shard/remove``: int64 ids; ``POST /v1/shard/train``: float32 vectors;
* ``POST /v1/shard/reset``; ``POST /v1/shard/save`` (atomic: the old file or the new).

``POST /v1/shard/apply`` replays change-log entries (records of int64 seq, int64 op: 1 add
or 0 remove, int64 id, float32 vector; ``x-rows`` of them). The shard applies an entry
only if its seq is above the last one it applied (and then remembers it), so several
processes replaying the same log apply each change once, in log order, and never re-add
a template another has removed. ``reset?seq=N`` empties the shard for a rebuild from the
store as of N; ``add`` (a rebuild's bulk add) and ``remove`` apply at once.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

from fortify.errors import IndexError_
from fortify.index.base import VectorIndex
from fortify.index.factory import create_index, load_index, structure

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024 * 1024
"""The largest request body a shard reads (a batch of ~130k 512-d templates)."""
MAX_RESULTS = 1_000_000
"""The most result slots (queries x k) one search may ask for (12 MB of answer)."""
FILE, META = "shard.index", "shard.meta.json"


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Shard:
    """The local index of one shard, its file and its lock."""

    def __init__(self, directory: Path, dim: int, factory: str) -> None:
        if factory.startswith("shards://"):
            raise IndexError_("a shard holds a local index, not another sharded one")
        self.directory, self.dim, self.factory = directory, dim, factory
        self.lock = threading.RLock()
        self.last_seq = 0
        self.index: VectorIndex = self._load()

    def _load(self) -> VectorIndex:
        path, meta_path = self.directory / FILE, self.directory / META
        try:
            meta = json.loads(meta_path.read_text())
            if meta["dim"] == self.dim and structure(meta["factory"]) == structure(self.factory):
                index = load_index(path, self.dim, self.factory)
                if index.ntotal == int(meta["ntotal"]):
                    self.last_seq = int(meta.get("last_seq", 0))
                    return index
            log.warning("shard file in %s does not match; starting empty", self.directory)
        except (OSError, ValueError, KeyError, IndexError_) as exc:
            log.info("no usable shard file in %s (%s); starting empty", self.directory, exc)
        return create_index(self.dim, self.factory)

    def save(self) -> None:
        with self.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{FILE}.tmp{os.getpid()}"
            self.index.save(tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.directory / FILE)
            meta = {
                "dim": self.dim,
                "factory": self.factory,
                "ntotal": self.index.ntotal,
                "last_seq": self.last_seq,
            }
            mtmp = self.directory / f"{META}.tmp{os.getpid()}"
            mtmp.write_text(json.dumps(meta))
            os.chmod(mtmp, 0o600)
            os.replace(mtmp, self.directory / META)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "dim": self.dim,
                "factory": self.factory,
                "ntotal": self.index.ntotal,
                "is_trained": self.index.is_trained,
                "train_size": int(getattr(self.index, "train_size", 50_000)),
                "last_seq": self.last_seq,
            }

    def in_order(self, seq: int) -> bool:
        """Whether the change numbered ``seq`` is still to be applied (call under the lock)."""
        if seq <= self.last_seq:
            return False
        self.last_seq = seq
        return True


def _vectors(body: bytes, dim: int, offset: int = 0) -> np.ndarray:
    raw = memoryview(body)[offset:]
    if len(raw) == 0 or len(raw) % (4 * dim):
        raise _Refused(422, "invalid_input", f"expected float32 rows of {dim}")
    x = np.frombuffer(raw, dtype="<f4").reshape(-1, dim).astype(np.float32)
    if not np.isfinite(x).all():
        raise _Refused(422, "invalid_input", "vectors must be finite")
    return x


def _ids(body: bytes, n: int | None = None) -> np.ndarray:
    size = len(body) if n is None else 8 * n
    if size == 0 or size % 8 or size > len(body):
        raise _Refused(422, "invalid_input", "expected int64 ids")
    return np.frombuffer(body[:size], dtype="<i8").astype(np.int64)


def _rows(request: Request) -> int:
    """The ``x-rows`` header: how many records a body holds."""
    try:
        return int(request.headers.get("x-rows", "0"))
    except ValueError as exc:
        raise _Refused(422, "invalid_input", "x-rows must be an integer") from exc


def create_shard_app(shard: Shard, token: str) -> FastAPI:
    """The shard's HTTP API; ``token`` is the shared secret every request must carry."""
    if len(token) < 16:
        raise IndexError_("the shard token must be at least 16 characters")
    app = FastAPI(title="Fortify index shard", docs_url=None, redoc_url=None)

    def authorised(authorization: str = Header(default="")) -> None:
        given = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Refused(401, "unauthorized", "missing or wrong shard token")

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > MAX_BODY:
            raise _Refused(413, "payload_too_large", f"body over {MAX_BODY} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():  # chunked bodies are capped as they arrive
            size += len(chunk)
            if size > MAX_BODY:
                raise _Refused(413, "payload_too_large", f"body over {MAX_BODY} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @app.exception_handler(_Refused)
    async def refused(_: Request, exc: _Refused) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)

    @app.exception_handler(IndexError_)
    async def index_error(_: Request, exc: IndexError_) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, 409)

    guard = [Depends(authorised)]

    @app.get("/v1/shard/stats", dependencies=guard)
    def stats() -> dict[str, Any]:
        return shard.stats()

    @app.post("/v1/shard/search", dependencies=guard)
    async def search(request: Request, k: int = 10) -> Response:
        if not 1 <= k <= 10_000:
            raise _Refused(422, "invalid_input", "k must be 1-10000")
        x = _vectors(await body(request), shard.dim)
        if len(x) * k > MAX_RESULTS:
            raise _Refused(422, "invalid_input", f"queries x k over {MAX_RESULTS}")
        with shard.lock:
            d, i = shard.index.search(x, k)
        out = np.asarray(d, "<f4").tobytes() + np.asarray(i, "<i8").tobytes()
        return Response(out, media_type="application/octet-stream")

    @app.post("/v1/shard/add", dependencies=guard)
    async def add(request: Request) -> dict[str, int]:
        data = await body(request)
        n = _rows(request)
        ids = _ids(data, n)
        x = _vectors(data, shard.dim, 8 * n)
        if len(x) != n:
            raise _Refused(422, "invalid_input", f"{n} ids but {len(x)} vectors")
        with shard.lock:
            shard.index.remove_ids(ids)  # idempotent: an id already held is replaced
            shard.index.add_with_ids(x, ids)
            return {"ntotal": shard.index.ntotal}

    @app.post("/v1/shard/apply", dependencies=guard)
    async def apply(request: Request) -> dict[str, int]:
        data = await body(request)
        n = _rows(request)
        size = 24 + 4 * shard.dim
        if n < 1 or len(data) != n * size:
            raise _Refused(422, "invalid_input", f"expected {n} change records of {size} bytes")
        recs = np.frombuffer(data, dtype=np.uint8).reshape(n, size)
        head = recs[:, :24].copy().view("<i8").reshape(n, 3)
        vecs = recs[:, 24:].copy().view("<f4").reshape(n, shard.dim).astype(np.float32)
        if not np.isfinite(vecs).all():
            raise _Refused(422, "invalid_input", "vectors must be finite")
        applied = 0
        with shard.lock:  # in log order, each change once (see in_order)
            for (seq, is_add, tid), vec in zip(head, vecs, strict=True):
                if not shard.in_order(int(seq)):
                    continue
                ids = np.array([tid], np.int64)
                shard.index.remove_ids(ids)
                if is_add:
                    shard.index.add_with_ids(vec[None, :], ids)
                applied += 1
            return {"applied": applied, "ntotal": shard.index.ntotal}

    @app.post("/v1/shard/remove", dependencies=guard)
    async def remove(request: Request) -> dict[str, int]:
        ids = _ids(await body(request))
        with shard.lock:
            return {"removed": int(shard.index.remove_ids(ids)), "ntotal": shard.index.ntotal}

    @app.post("/v1/shard/train", dependencies=guard)
    async def train(request: Request) -> dict[str, bool]:
        x = _vectors(await body(request), shard.dim)
        with shard.lock:
            if not shard.index.is_trained:
                shard.index.train(x)
            return {"is_trained": shard.index.is_trained}

    @app.post("/v1/shard/reset", dependencies=guard)
    def reset(seq: int = 0) -> dict[str, int]:
        with shard.lock:
            shard.index = create_index(shard.dim, shard.factory)
            shard.last_seq = seq
            return {"ntotal": 0}

    @app.post("/v1/shard/save", dependencies=guard)
    def save() -> dict[str, int]:
        shard.save()
        return {"ntotal": shard.index.ntotal}

    return app
