"""Choose an index backend from a factory string.

Grammar (FAISS ``index_factory`` style, plus two Fortify additions)::

    factory  := "Reference" | milvus-uri | faiss [",RFlat"] ["|" params]
    params   := key "=" int ("," key "=" int)*     keys: nprobe, efSearch, rerank

* ``faiss`` is any FAISS factory string (``Flat``, ``HNSW32``, ``IVF4096,PQ32``,
  ``OPQ32,IVF4096,PQ32`` ...). A leading ``IDMap,`` / ``IDMap2,`` is accepted and
  ignored: the backend keeps its own row → template-id map.
* ``,RFlat`` re-ranks a shortlist exactly against the full float32 templates,
  which live memory-mapped in the index file instead of in RAM
  (:mod:`fortify.index.rerank`), unlike FAISS's in-RAM ``IndexRefineFlat``.
* ``|nprobe=..,efSearch=..,rerank=..`` are search-time settings; they are not part
  of the index structure (see :func:`structure`), so changing them needs no rebuild.
* ``milvus://[user:password@]host:port/collection?index=HNSW&M=32`` selects the
  Milvus backend (:mod:`fortify.index.milvus_backend`).
* ``Set<rows>x<width>,<faiss>`` indexes each template as a set of local codes that
  vote (fingerprint minutiae, :mod:`fortify.index.vote`).
* ``shards://host:port,host:port?timeout=10`` splits the gallery over shard servers
  (``fortify shard serve``, each with its own local factory), :mod:`fortify.index.sharded`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fortify.errors import IndexError_
from fortify.index.base import VectorIndex

SEARCH_KEYS = ("nprobe", "efSearch", "rerank")
_NLIST = re.compile(r"(?:^|,)IVF(\d+)")


@dataclass(frozen=True)
class FactorySpec:
    """A parsed FAISS factory string."""

    faiss: str
    rerank: bool = False
    params: dict[str, int] = field(default_factory=dict)

    @property
    def nlist(self) -> int:
        m = _NLIST.search(self.faiss)
        return int(m.group(1)) if m else 0

    @property
    def structure(self) -> str:
        return self.faiss + (",RFlat" if self.rerank else "")


def parse_factory(factory: str) -> FactorySpec:
    """Split ``factory`` into the FAISS description, the re-rank flag and search settings."""
    head, _, tail = factory.strip().partition("|")
    parts = [p.strip() for p in head.split(",") if p.strip()]
    while parts and parts[0] in ("IDMap", "IDMap2"):
        parts.pop(0)
    rerank = False
    if parts and parts[-1] in ("RFlat", "Refine(Flat)"):
        rerank = True
        parts.pop()
    if not parts:
        raise IndexError_(f"bad index factory string '{factory}': no index type")
    params: dict[str, int] = {}
    for item in filter(None, (t.strip() for t in tail.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in SEARCH_KEYS:
            raise IndexError_(
                f"bad search setting '{item}' in '{factory}' (known: {', '.join(SEARCH_KEYS)})"
            )
        try:
            params[key] = int(value)
        except ValueError as exc:
            raise IndexError_(f"search setting '{item}' needs an integer") from exc
        if params[key] < 1:
            raise IndexError_(f"search setting '{item}' must be >= 1")
    return FactorySpec(",".join(parts), rerank, params)


def structure(factory: str) -> str:
    """What must match for a saved index to be reused (search settings may differ)."""
    if factory == "Reference" or _is_milvus(factory) or _is_sharded(factory):
        return factory.partition("?")[0] if _is_sharded(factory) else factory
    if _is_set(factory):
        return factory.partition("|")[0].strip()
    return parse_factory(factory).structure


def partition_caveat(factory: str, dim: int) -> str | None:
    """Why ``factory`` may lose mates of ``dim``-d face templates, or None.

    IVF cells and HNSW graphs served the 128-d dlib templates well, but 512-d EdgeFace
    mates lie far apart in a space of high intrinsic dimension: on templates fitted to
    EdgeFace IVF found the exact best of ~92 % of mated probes with an eighth of its
    lists probed and HNSW32 ~91 % at efSearch 256, where an exhaustive fast-scan of PQ
    codes with exact re-ranking found 99.7 % at 10M (docs/scale.md).
    """
    if dim < 512 or _is_set(factory) or factory == "Reference":
        return None
    head = factory.partition("|")[0] if not _is_milvus(factory) else factory.upper()
    if not any(k in head for k in ("IVF", "HNSW", "DISKANN")):
        return None
    return (
        f"index factory {factory.partition('|')[0]!r} partitions or graphs the gallery: with "
        f"{dim}-d face templates it loses mates (docs/scale.md); use 'Flat' up to ~200k "
        "templates and 'PQ128x4fs,RFlat|rerank=1024' beyond"
    )


def _is_milvus(factory: str) -> bool:
    return factory.startswith("milvus://")


def _is_sharded(factory: str) -> bool:
    return factory.startswith("shards://")


def _is_set(factory: str) -> bool:
    return factory.strip().startswith("Set")


def create_index(dim: int, factory: str = "Flat") -> VectorIndex:
    """``"Reference"`` is the exact NumPy oracle, ``milvus://...`` Milvus, else FAISS."""
    if factory == "Reference":
        from fortify.index.reference import ReferenceIndex

        return ReferenceIndex(dim)
    if _is_milvus(factory):
        from fortify.index.milvus_backend import MilvusIndex

        return MilvusIndex(dim, factory)
    if _is_sharded(factory):
        from fortify.index.sharded import ShardedIndex

        return ShardedIndex(dim, factory)
    if _is_set(factory):
        from fortify.index.vote import SetVoteIndex

        return SetVoteIndex(dim, factory)
    from fortify.index.faiss_backend import FaissIndex

    return FaissIndex(dim, factory)


def load_index(path: Path, dim: int, factory: str) -> VectorIndex:
    """Open a saved index; FAISS indexes map their full templates from disk."""
    if factory == "Reference":
        from fortify.index.reference import ReferenceIndex

        return ReferenceIndex.load(path, dim)
    if _is_milvus(factory):
        from fortify.index.milvus_backend import MilvusIndex

        return MilvusIndex.load(path, dim, factory)
    if _is_sharded(factory):
        from fortify.index.sharded import ShardedIndex

        return ShardedIndex.load(path, dim, factory)
    if _is_set(factory):
        from fortify.index.vote import SetVoteIndex

        return SetVoteIndex.load(path, dim, factory)
    from fortify.index.faiss_backend import FaissIndex

    return FaissIndex.load(path, dim, factory)
