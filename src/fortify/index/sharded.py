"""A gallery index split over shard servers: scatter each search, merge the top k.

Factory string::

    shards://host1:port1,host2:port2[,...][?timeout=10&token_env=FORTIFY_SHARD_TOKEN]

Each shard (``fortify shard serve``, :mod:`fortify.index.shard_server`) holds the
templates whose id falls to it (``id % number of shards``) in its own local index, so
adds and removals go to one shard and every search goes to all of them at once; the
merged top k is the same as one index over the whole gallery would give (per shard
recall as measured for its factory). The shard token is read from the environment
variable ``token_env`` names, never written into the factory string, the index metadata
or the logs.

A search answers only when **every** shard answered within ``timeout`` seconds: a
missing shard means part of the gallery was not searched, so the search fails (HTTP 503
``index_unavailable``) rather than return a ranking that silently leaves people out.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np

from fortify.errors import IndexError_, IndexUnavailable
from fortify.index.base import Ids, Vectors

PREFIX = "shards://"
DEFAULT_TOKEN_ENV = "FORTIFY_SHARD_TOKEN"


def parse_shards(factory: str) -> tuple[list[str], float, str]:
    """(shard base URLs, timeout in seconds, token variable) of a ``shards://`` factory."""
    if not factory.startswith(PREFIX):
        raise IndexError_(f"not a shards:// factory: {factory!r}")
    hosts, _, query = factory[len(PREFIX) :].partition("?")
    urls = [f"http://{h.strip().rstrip('/')}" for h in hosts.split(",") if h.strip()]
    if not urls or any(":" not in u[len("http://") :] for u in urls):
        raise IndexError_(f"shards:// needs host:port,host:port...: {factory!r}")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(opts) - {"timeout", "token_env"}
    if unknown:
        raise IndexError_(f"unknown shards:// option(s): {', '.join(sorted(unknown))}")
    try:
        timeout = float(opts.get("timeout", "10"))
    except ValueError as exc:
        raise IndexError_("shards:// timeout must be a number of seconds") from exc
    return urls, timeout, opts.get("token_env", DEFAULT_TOKEN_ENV)


class ShardedIndex:
    """The :class:`~fortify.index.base.VectorIndex` port over shard servers."""

    def __init__(self, dim: int, factory: str) -> None:
        self.dim, self.factory = dim, factory
        self.urls, self.timeout, token_env = parse_shards(factory)
        token = os.environ.get(token_env, "")
        if not token:
            raise IndexError_(f"shards:// needs the shard token in ${token_env}")
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout
        )
        self._pool = ThreadPoolExecutor(len(self.urls), thread_name_prefix="shard")
        try:
            for url, st in zip(self.urls, self._stats(), strict=True):
                if st["dim"] != dim:
                    raise IndexError_(f"shard {url} holds {st['dim']}-d templates, not {dim}-d")
        except IndexError_:
            self.close()  # no connection pool or threads left behind
            raise

    # -- transport ---------------------------------------------------------------------------
    def _call(self, url: str, path: str, content: bytes = b"", **kw: Any) -> httpx.Response:
        try:
            r = self._client.request(
                "GET" if path == "stats" else "POST",
                f"{url}/v1/shard/{path}",
                content=content or None,
                **kw,
            )
        except httpx.HTTPError as exc:
            raise IndexUnavailable(
                f"shard {url} did not answer ({type(exc).__name__}): "
                "the gallery cannot be searched in full"
            ) from exc
        if r.status_code != 200:
            try:
                msg = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                msg = r.text[:200]
            raise IndexError_(f"shard {url} refused {path} ({r.status_code}): {msg}")
        return r

    def _all(self, path: str, content: bytes = b"") -> list[httpx.Response]:
        return list(self._pool.map(lambda u: self._call(u, path, content), self.urls))

    def _all_params(self, path: str, params: dict[str, int]) -> list[httpx.Response]:
        return list(self._pool.map(lambda u: self._call(u, path, params=params), self.urls))

    def _stats(self) -> list[dict[str, Any]]:
        return [r.json() for r in self._all("stats")]

    def _owner(self, ids: Ids) -> np.ndarray:
        return np.asarray(ids, np.int64) % len(self.urls)

    # -- the port ----------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return sum(int(s["ntotal"]) for s in self._stats())

    @property
    def is_trained(self) -> bool:
        return all(bool(s["is_trained"]) for s in self._stats())

    @property
    def train_size(self) -> int:
        return max(int(s["train_size"]) for s in self._stats())

    def train(self, x: Vectors) -> None:
        self._all("train", np.asarray(x, "<f4").tobytes())

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        x, ids = np.asarray(x, "<f4"), np.asarray(ids, "<i8")
        owner = self._owner(ids)
        for s, url in enumerate(self.urls):
            mine = owner == s
            if mine.any():
                body = ids[mine].tobytes() + x[mine].tobytes()
                self._call(url, "add", body, headers={"x-rows": str(int(mine.sum()))})

    def remove_ids(self, ids: Ids) -> int:
        ids = np.asarray(ids, "<i8")
        owner, removed = self._owner(ids), 0
        for s, url in enumerate(self.urls):
            mine = owner == s
            if mine.any():
                removed += int(self._call(url, "remove", ids[mine].tobytes()).json()["removed"])
        return removed

    # OrderedIndex: several processes replay the same change log into the shards
    def apply_changes(self, changes: list[tuple[int, str, int, Vectors | None]]) -> None:
        """A batch of change-log entries, in log order, one request per shard (in parallel):
        records of int64 seq, int64 op (1 add, 0 remove), int64 id, float32 vector."""
        per: list[list[bytes]] = [[] for _ in self.urls]
        zeros = np.zeros(self.dim, "<f4").tobytes()
        for seq, op, tid, vec in changes:
            if op == "add" and vec is None:
                continue  # added, then deleted later: nothing to add
            head = np.array([seq, op == "add", tid], "<i8").tobytes()
            body = zeros if vec is None else np.asarray(vec, "<f4").tobytes()
            per[tid % len(self.urls)].append(head + body)
        calls = [
            (url, b"".join(recs), len(recs))
            for url, recs in zip(self.urls, per, strict=True)
            if recs
        ]
        list(
            self._pool.map(
                lambda c: self._call(c[0], "apply", c[1], headers={"x-rows": str(c[2])}), calls
            )
        )

    def reset_at(self, seq: int) -> None:
        self._all_params("reset", {"seq": seq})

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        x = np.ascontiguousarray(x, "<f4")
        n = len(x)
        body = x.tobytes()
        answers = self._pool.map(
            lambda u: self._call(u, "search", body, params={"k": k}).content, self.urls
        )
        ds, is_ = [], []
        for raw in answers:
            if len(raw) != n * k * 12:
                raise IndexError_("a shard answered a search with the wrong size")
            ds.append(np.frombuffer(raw[: n * k * 4], "<f4").reshape(n, k))
            is_.append(np.frombuffer(raw[n * k * 4 :], "<i8").reshape(n, k))
        d, i = np.concatenate(ds, axis=1), np.concatenate(is_, axis=1)
        order = np.argsort(-d, axis=1, kind="stable")[:, :k]
        return (
            np.take_along_axis(d, order, 1).astype(np.float32),
            np.take_along_axis(i, order, 1).astype(np.int64),
        )

    def reset(self) -> None:
        self._all("reset")

    def save(self, path: Path) -> None:
        """Every shard saves its own file; ``path`` gets a descriptor (no secrets)."""
        counts = [int(r.json()["ntotal"]) for r in self._all("save")]
        path.write_text(json.dumps({"shards": self.urls, "ntotal": counts, "dim": self.dim}))

    @classmethod
    def load(cls, path: Path, dim: int, factory: str) -> ShardedIndex:
        try:
            desc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise IndexError_(f"sharded index descriptor unreadable: {exc}") from exc
        index = cls(dim, factory)
        if desc.get("shards") != index.urls:
            raise IndexError_("the shard list changed since the index was saved")
        return index

    def close(self) -> None:
        self._client.close()
        self._pool.shutdown(wait=False)
