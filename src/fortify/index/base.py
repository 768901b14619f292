"""The vector-index port (faiss-style contract, inner-product scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]


class VectorIndex(Protocol):
    """Inner-product index over L2-normalised templates keyed by int64 template ids.

    ``search`` returns ``(D, I)``: scores (higher = more similar) and ids, shape
    ``(n_queries, k)``; missing slots hold id ``-1`` and score ``-inf``.
    Implementations are not thread-safe; :class:`fortify.index.sync.IndexManager`
    serialises access.

    Contract shared by every backend (FAISS, Milvus, the NumPy reference):

    * ``remove_ids`` is honoured by the very next ``search``; a removed id is never
      returned again unless it is added again.
    * ``add_with_ids`` works on an untrained index too (FAISS IVF/PQ indexes search
      exactly until they hold enough templates, then train themselves).
    * ``save(path)`` writes everything needed into the one file ``path`` (Milvus: a small
      descriptor; its data lives in Milvus).

    Optional: ``train_size`` (int), how many templates ``train`` would like to see.
    """

    dim: int
    factory: str

    @property
    def ntotal(self) -> int: ...

    @property
    def is_trained(self) -> bool: ...

    def train(self, x: Vectors) -> None: ...

    def add_with_ids(self, x: Vectors, ids: Ids) -> None: ...

    def remove_ids(self, ids: Ids) -> int: ...

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]: ...

    def reset(self) -> None: ...

    def save(self, path: Path) -> None: ...


class OrderedIndex(Protocol):
    """Optional: an index several processes change at once (shards:// servers).

    Each change carries its change-log sequence number and the index applies it only if
    it is newer than the last one it applied, so two processes replaying the same log
    cannot re-add a template the other has already removed. ``apply_changes`` takes a
    batch in log order: ``(seq, "add" | "remove", template id, vector or None)``.
    ``reset_at(seq)`` empties the index for a rebuild from the store as of ``seq``.
    """

    def apply_changes(self, changes: list[tuple[int, str, int, Vectors | None]]) -> None: ...

    def reset_at(self, seq: int) -> None: ...
