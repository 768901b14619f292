"""FAISS adapter: any ``index_factory`` string, inner-product metric, int64 ids."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from fortify.errors import IndexError_
from fortify.index.base import Ids, Vectors

log = logging.getLogger(__name__)


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    """A FAISS index described by a factory string such as ``"Flat"`` or ``"HNSW32"``.

    Flat-style indexes are wrapped in ``IDMap2`` so template ids are kept and
    can be removed.
    """

    def __init__(self, dim: int, factory: str = "Flat", index: Any = None) -> None:
        faiss = _faiss()
        self.dim = dim
        self.factory = factory
        if index is None:
            desc = factory if factory.startswith("IDMap") else f"IDMap2,{factory}"
            try:
                index = faiss.index_factory(dim, desc, faiss.METRIC_INNER_PRODUCT)
            except RuntimeError as exc:
                raise IndexError_(f"bad index factory string '{factory}': {exc}") from exc
        self._index = index

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    def train(self, x: Vectors) -> None:
        self._index.train(np.ascontiguousarray(x, dtype=np.float32))

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        if len(ids) == 0:
            return
        self._index.add_with_ids(
            np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim),
            np.ascontiguousarray(ids, dtype=np.int64),
        )

    def remove_ids(self, ids: Ids) -> int:
        if len(ids) == 0:
            return 0
        sel = _faiss().IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(sel))

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        q = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        d, i = self._index.search(q, k)
        d = np.where(i < 0, -np.inf, d).astype(np.float32)
        return d, i.astype(np.int64)

    def reset(self) -> None:
        self._index.reset()

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, dim: int, factory: str, mmap: bool = False) -> FaissIndex:
        faiss = _faiss()
        flags = faiss.IO_FLAG_MMAP if mmap else 0
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            raise IndexError_(f"cannot read index file {path}: {exc}") from exc
        if index.d != dim:
            raise IndexError_(f"index file {path} has dim {index.d}, expected {dim}")
        return cls(dim, factory, index=index)
