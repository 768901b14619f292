"""Exact NumPy index: the test oracle and the start-up self-check peer."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fortify.index.base import Ids, Vectors

log = logging.getLogger(__name__)


class ReferenceIndex:
    """Brute-force inner product over a dense matrix (what simple tools do)."""

    factory = "Reference"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._x = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)

    @property
    def ntotal(self) -> int:
        return int(self._ids.shape[0])

    @property
    def is_trained(self) -> bool:
        return True

    def train(self, x: Vectors) -> None:
        """Nothing to learn."""

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        self._x = np.vstack([self._x, x])
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])

    def remove_ids(self, ids: Ids) -> int:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        removed = int((~keep).sum())
        self._x, self._ids = self._x[keep], self._ids[keep]
        return removed

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        q = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        n = q.shape[0]
        d_out = np.full((n, k), -np.inf, dtype=np.float32)
        i_out = np.full((n, k), -1, dtype=np.int64)
        if self.ntotal == 0:
            return d_out, i_out
        scores = q @ self._x.T
        kk = min(k, self.ntotal)
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        for r in range(n):
            order = part[r][np.argsort(-scores[r, part[r]], kind="stable")]
            d_out[r, :kk] = scores[r, order]
            i_out[r, :kk] = self._ids[order]
        return d_out, i_out

    def reset(self) -> None:
        self._x = np.zeros((0, self.dim), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, x=self._x, ids=self._ids)

    @classmethod
    def load(cls, path: Path, dim: int) -> ReferenceIndex:
        data = np.load(path)
        idx = cls(dim)
        idx._x, idx._ids = data["x"].astype(np.float32), data["ids"].astype(np.int64)
        return idx
