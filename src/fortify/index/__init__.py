"""1:N vector index: a small interface, FAISS and NumPy adapters, a factory, SQL sync."""

from fortify.index.base import VectorIndex
from fortify.index.factory import create_index, load_index

__all__ = ["VectorIndex", "create_index", "load_index"]
