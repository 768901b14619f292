"""Choose an index backend from a factory string."""

from __future__ import annotations

from pathlib import Path

from fortify.index.base import VectorIndex
from fortify.index.faiss_backend import FaissIndex
from fortify.index.reference import ReferenceIndex


def create_index(dim: int, factory: str = "Flat") -> VectorIndex:
    """``"Reference"`` is the exact NumPy oracle; anything else is a FAISS factory string."""
    if factory == "Reference":
        return ReferenceIndex(dim)
    return FaissIndex(dim, factory)


def load_index(path: Path, dim: int, factory: str) -> VectorIndex:
    if factory == "Reference":
        return ReferenceIndex.load(path, dim)
    return FaissIndex.load(path, dim, factory)
