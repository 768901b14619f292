"""A set-of-vectors index: each template is a set of local codes that vote.

A fingerprint is not one vector but a set of minutiae, each described by a
rotation- and translation-invariant local code (a projected minutia cylinder).
One global vector per print preselects poorly (the mean cylinder found the mate
within 0.5 % of a 10k gallery for 72 % of probes). This index keeps every local
code as a row of an inner FAISS index (any factory string: ``Flat``,
``IVF4096,Flat`` ...), and a query votes: each of its codes retrieves its
``neighbours`` nearest gallery codes; a gallery template scores the number of
query codes that found at least one of its codes, divided by the number of query
codes, so a template searched against itself scores 1. (Requiring the votes to
agree on one rotation, from the minutia directions, was measured worse: see
``bench/bench_finger_search.py``.)

Layout of a template vector (``dim = rows * width``): ``rows`` rows of ``width``
code values; a row that is all zero is empty. Row ids in the inner index encode the
template id and the row: ``(template_id << 6) | row`` (template ids below 2**57,
rows up to 64).

Factory string: ``Set<rows>x<width>,<inner faiss factory>[|neighbours=K,...]``,
e.g. ``Set60x32,Flat`` or ``Set60x32,IVF16384,Flat|nprobe=64,neighbours=20``; other
search settings (``nprobe``, ``efSearch``) go to the inner index.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fortify.errors import IndexError_
from fortify.index.base import Ids, Vectors
from fortify.index.faiss_backend import FaissIndex

ROW_BITS = 6
MAX_ROWS = 1 << ROW_BITS
DEFAULT_NEIGHBOURS = 20
_SPEC = re.compile(r"^Set(\d+)x(\d+),(.+)$")


def parse_set_factory(factory: str) -> tuple[int, int, str, int]:
    """(rows, width, inner factory, neighbours) of a ``Set...`` factory string."""
    head, _, tail = factory.strip().partition("|")
    m = _SPEC.match(head.strip())
    if m is None:
        raise IndexError_(f"bad set index factory '{factory}' (Set<rows>x<width>,<faiss>)")
    rows, width = int(m.group(1)), int(m.group(2))
    if not 1 <= rows <= MAX_ROWS or width < 1:
        raise IndexError_(f"bad set index factory '{factory}': rows 1-{MAX_ROWS}, width >= 1")
    neighbours = DEFAULT_NEIGHBOURS
    inner_params = []
    for item in filter(None, (t.strip() for t in tail.split(","))):
        key, _, value = item.partition("=")
        if key.strip() == "neighbours":
            try:
                neighbours = int(value)
            except ValueError as exc:
                raise IndexError_(f"search setting '{item}' needs an integer") from exc
            if neighbours < 1:
                raise IndexError_(f"search setting '{item}' must be >= 1")
        else:
            inner_params.append(item)
    inner = m.group(3) + ("|" + ",".join(inner_params) if inner_params else "")
    return rows, width, inner, neighbours


class SetVoteIndex:
    """The :class:`~fortify.index.base.VectorIndex` port over sets of local codes."""

    def __init__(self, dim: int, factory: str, inner: FaissIndex | None = None) -> None:
        self.rows, self.width, inner_factory, self.neighbours = parse_set_factory(factory)
        if dim != self.rows * self.width:
            raise IndexError_(f"set index '{factory}' holds {self.rows * self.width}-d, not {dim}")
        self.dim = dim
        self.factory = factory
        self._inner = inner or FaissIndex(self.width, inner_factory)
        self._n = 0
        if inner is not None:  # loaded: count the templates the live rows belong to
            self._n = int(np.unique(inner.live_ids() >> ROW_BITS).shape[0])
        #: templates to train on (the inner index counts rows)
        self.train_size = max(1, int(getattr(self._inner, "train_size", 10_000)) // 30)

    # -- rows <-> templates ------------------------------------------------------------------
    def _split(self, x: Vectors) -> tuple[Vectors, Ids, Ids]:
        """Non-empty codes (m, width), their template index (m,) and row number (m,).

        A template without any code keeps its (zero) first row, so every template
        has a row and the index counts it.
        """
        a = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.rows, self.width)
        full = np.abs(a).sum(axis=2) > 0
        full[~full.any(axis=1), 0] = True
        t, r = np.nonzero(full)
        return np.ascontiguousarray(a[t, r]), t.astype(np.int64), r.astype(np.int64)

    # -- the VectorIndex port ----------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return self._n

    @property
    def is_trained(self) -> bool:
        return self._inner.is_trained

    def train(self, x: Vectors) -> None:
        codes, _, _ = self._split(x)
        self._inner.train(codes)

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0:
            return
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        if len(x) != len(ids):
            raise IndexError_(f"{len(x)} templates but {len(ids)} ids")
        if np.any(ids < 0) or np.any(ids >= 1 << (63 - ROW_BITS)):
            raise IndexError_("set index template ids must be in [0, 2**57)")
        codes, t, r = self._split(x)
        self._inner.add_with_ids(codes, (ids[t] << ROW_BITS) | r)
        self._n += len(ids)

    def remove_ids(self, ids: Ids) -> int:
        removed = 0
        span = np.arange(1 << ROW_BITS, dtype=np.int64)
        for tid in np.unique(np.asarray(ids, dtype=np.int64)):
            if tid < 0:
                continue
            removed += self._inner.remove_ids((int(tid) << ROW_BITS) | span) > 0
        self._n -= removed
        return removed

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        q = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        d_out = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        i_out = np.full((q.shape[0], k), -1, dtype=np.int64)
        if self._n == 0 or k <= 0:
            return d_out, i_out
        codes, t, _ = self._split(q)
        if len(codes) == 0:
            return d_out, i_out
        _, hits = self._inner.search(codes, self.neighbours)
        for j in range(q.shape[0]):
            mine = t == j
            if np.any(mine):
                owners, scores = self._vote(hits[mine])
                top = np.argsort(-scores, kind="stable")[:k]
                i_out[j, : len(top)] = owners[top]
                d_out[j, : len(top)] = scores[top]
        return d_out, i_out

    @staticmethod
    def _vote(hits: Ids) -> tuple[Ids, Vectors]:
        """(template ids, scores) of every template one query's codes reached."""
        n, kk = hits.shape
        ok = hits >= 0
        qrow = np.repeat(np.arange(n, dtype=np.int64), kk).reshape(n, kk)[ok]
        owners, owner = np.unique(hits[ok] >> ROW_BITS, return_inverse=True)
        votes = np.unique(qrow * len(owners) + owner) % len(owners)  # one per query code
        return owners, (np.bincount(votes, minlength=len(owners)) / n).astype(np.float32)

    def reset(self) -> None:
        self._inner.reset()
        self._n = 0

    def save(self, path: Path) -> None:
        self._inner.save(path)

    @classmethod
    def load(cls, path: Path, dim: int, factory: str) -> SetVoteIndex:
        _, width, inner_factory, _ = parse_set_factory(factory)
        return cls(dim, factory, FaissIndex.load(path, width, inner_factory))
