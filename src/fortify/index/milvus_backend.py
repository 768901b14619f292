"""Milvus adapter: the same :class:`~fortify.index.base.VectorIndex` port over pymilvus 2.3.

For galleries that outgrow one machine. Selected by a factory string that is a URI::

    milvus://[user:password@]host:port/collection?index=IVF_PQ&nlist=65536&m=32&nprobe=64

Query keys: ``index`` (FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ, HNSW, DISKANN; default HNSW),
its build parameters (``nlist``, ``m``, ``nbits``, ``M``, ``efConstruction``), its search
parameters (``nprobe``, ``ef``, ``search_list``), ``shards`` (default 2) and
``replicas`` (in-memory replicas, default 1). Templates are keyed by the template id
(INT64 primary key); scores are inner products (metric IP) over L2-normalised templates.

Every search uses ``Strong`` consistency, so a deletion or an opt-out is honoured by
the next search. ``add_with_ids`` upserts, so replaying the change log is idempotent.
Milvus keeps its own data durable; ``save`` writes only a small descriptor file so
the :class:`~fortify.index.sync.IndexManager` bookkeeping works unchanged.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from fortify.errors import IndexError_
from fortify.index.base import Ids, Vectors

log = logging.getLogger(__name__)

BUILD_KEYS = {"nlist", "m", "nbits", "M", "efConstruction"}
DEFAULTS: dict[str, tuple[dict[str, int], dict[str, int]]] = {  # (build, search)
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 64}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 16}),
    "IVF_SQ8": ({"nlist": 1024}, {"nprobe": 16}),
    "IVF_PQ": ({"nlist": 1024, "m": 32, "nbits": 8}, {"nprobe": 16}),
    "DISKANN": ({}, {"search_list": 100}),
}
SEARCH_KEYS = {"nprobe": "nprobe", "ef": "ef", "search_list": "search_list"}
BATCH = 10_000
VECTOR = "template"


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:  # an optional extra
        raise IndexError_(
            "the Milvus backend needs pymilvus (pip install fortify[milvus])"
        ) from exc
    return pymilvus


class MilvusIndex:
    """A Milvus collection behind the VectorIndex port."""

    def __init__(self, dim: int, factory: str) -> None:
        self.dim = dim
        self.factory = factory
        u = urlsplit(factory)
        if u.scheme != "milvus" or not u.hostname or not u.path.strip("/"):
            raise IndexError_(f"bad Milvus factory '{factory}' (milvus://host:port/collection)")
        self.collection_name = u.path.strip("/")
        q = dict(parse_qsl(u.query))
        self.index_type = q.pop("index", "HNSW").upper()
        self.shards = int(q.pop("shards", 2))
        self.replicas = int(q.pop("replicas", 1))
        build, search = DEFAULTS.get(self.index_type, ({}, {}))
        self.build = {**build, **{k: int(v) for k, v in q.items() if k in BUILD_KEYS}}
        self.search_params = {
            **search,
            **{SEARCH_KEYS[k]: int(v) for k, v in q.items() if k in SEARCH_KEYS},
        }
        unknown = set(q) - BUILD_KEYS - set(SEARCH_KEYS)
        if unknown:
            raise IndexError_(f"unknown Milvus setting(s) {sorted(unknown)} in '{factory}'")
        self._alias = f"fortify-{uuid.uuid4().hex[:8]}"
        pm = _pymilvus()
        try:
            pm.connections.connect(
                alias=self._alias,
                host=u.hostname,
                port=str(u.port or 19530),
                user=u.username or "",
                password=u.password or "",
            )
            self._col = self._open_or_create(pm)
        except pm.MilvusException as exc:
            raise IndexError_(f"Milvus at {u.hostname}:{u.port}: {exc}") from exc

    def _open_or_create(self, pm: Any) -> Any:
        if pm.utility.has_collection(self.collection_name, using=self._alias):
            col = pm.Collection(self.collection_name, using=self._alias)
            field = next(f for f in col.schema.fields if f.name == VECTOR)
            if int(field.params.get("dim", -1)) != self.dim:
                raise IndexError_(
                    f"Milvus collection {self.collection_name} has dim {field.params.get('dim')}"
                )
        else:
            schema = pm.CollectionSchema(
                [
                    pm.FieldSchema("id", pm.DataType.INT64, is_primary=True, auto_id=False),
                    pm.FieldSchema(VECTOR, pm.DataType.FLOAT_VECTOR, dim=self.dim),
                ],
                description="Fortify templates (derived from the SQL store)",
            )
            col = pm.Collection(
                self.collection_name,
                schema,
                using=self._alias,
                shards_num=self.shards,
                consistency_level="Strong",
            )
            col.create_index(
                VECTOR,
                {"index_type": self.index_type, "metric_type": "IP", "params": self.build},
            )
            log.info("created Milvus collection %s (%s)", self.collection_name, self.index_type)
        col.load(replica_number=self.replicas)
        return col

    # -- the VectorIndex port ------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        rows = self._col.query(expr="", output_fields=["count(*)"], consistency_level="Strong")
        return int(rows[0]["count(*)"]) if rows else 0

    @property
    def is_trained(self) -> bool:
        return True

    def train(self, x: Vectors) -> None:
        """Milvus trains its own indexes when segments are sealed."""

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        for s in range(0, len(ids), BATCH):
            self._col.upsert([ids[s : s + BATCH].tolist(), x[s : s + BATCH].tolist()])

    def remove_ids(self, ids: Ids) -> int:
        removed = 0
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        for s in range(0, len(ids), BATCH):
            expr = f"id in {ids[s : s + BATCH].tolist()}"
            found = self._col.query(expr=expr, output_fields=["id"], consistency_level="Strong")
            if found:
                self._col.delete(f"id in {[int(r['id']) for r in found]}")
                removed += len(found)
        return removed

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        q = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        d = np.full((len(q), k), -np.inf, dtype=np.float32)
        i = np.full((len(q), k), -1, dtype=np.int64)
        if k <= 0 or len(q) == 0:
            return d, i
        params = {"metric_type": "IP", "params": self.search_params}
        res = self._col.search(q.tolist(), VECTOR, params, limit=k, consistency_level="Strong")
        for r, hits in enumerate(res):
            for c, hit in enumerate(list(hits)[:k]):
                i[r, c] = int(hit.id)
                d[r, c] = float(hit.distance)
        return d, i

    def reset(self) -> None:
        pm = _pymilvus()
        self._col.release()
        pm.utility.drop_collection(self.collection_name, using=self._alias)
        self._col = self._open_or_create(pm)

    def save(self, path: Path) -> None:
        """Milvus persists itself: write a descriptor (no credentials) for the bookkeeping."""
        self._col.flush()
        u = urlsplit(self.factory)
        doc = {
            "backend": "milvus",
            "server": f"{u.hostname}:{u.port or 19530}",
            "collection": self.collection_name,
            "dim": self.dim,
            "ntotal": self.ntotal,
        }
        Path(path).write_text(json.dumps(doc, indent=1))

    @classmethod
    def load(cls, path: Path, dim: int, factory: str) -> MilvusIndex:
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise IndexError_(f"cannot read Milvus descriptor {path}: {exc}") from exc
        idx = cls(dim, factory)
        if doc.get("backend") != "milvus" or doc.get("collection") != idx.collection_name:
            idx.close()
            raise IndexError_(f"{path} describes another index than '{factory}'")
        return idx

    def close(self) -> None:
        _pymilvus().connections.disconnect(self._alias)
