"""FAISS adapter: any ``index_factory`` string, inner-product metric, int64 template ids.

The FAISS index is labelled by *row* (the order templates were added in); a
:class:`~fortify.index.rerank.RowMap` maps rows to template ids and holds the live
bitmap. That one design gives every index type the same guarantees:

* deletion is a bit flip, honoured by the next search for every index type (FAISS
  filters with an ``IDSelectorBitmap``), even HNSW, which cannot remove; IVF lists
  drop the dead entries physically at the next save;
* ``...,RFlat`` re-ranks a shortlist exactly against full templates that stay
  memory-mapped on disk, so RAM holds only the compressed codes;
* an index that needs training (IVF, PQ) accepts adds before it is trained: they are
  searched exactly until ``train_size`` templates arrived, then it trains itself, so
  enrolment never waits for a rebuild;
* ``save(path)`` writes one file (atomically replaced) that :meth:`FaissIndex.load`
  maps without reading the full templates: a restart costs the compressed codes only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fortify.errors import IndexError_
from fortify.index.base import Ids, Vectors
from fortify.index.factory import parse_factory
from fortify.index.rerank import (
    Column,
    RowMap,
    Section,
    crc32,
    read_container,
    rerank,
    top_k,
    vector_section,
    write_container,
)

log = logging.getLogger(__name__)
FORMAT = 1
MAX_TRAIN = 262_144
DEFAULTS = {"efSearch": 64, "rerank": 4096}  # nprobe: 1/16 of the lists, at most 256


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    """A FAISS index described by a factory string such as ``"Flat"`` or ``"HNSW32"``."""

    def __init__(self, dim: int, factory: str = "Flat", core: Any = None) -> None:
        faiss = _faiss()
        self.dim = dim
        self.factory = factory
        self.spec = parse_factory(factory)
        if core is None:
            try:
                core = faiss.index_factory(dim, self.spec.faiss, faiss.METRIC_INNER_PRODUCT)
            except RuntimeError as exc:
                raise IndexError_(f"bad index factory string '{factory}': {exc}") from exc
        self._core = core
        try:
            self._ivf: Any = faiss.extract_index_ivf(core)
        except RuntimeError:
            self._ivf = None
        _no_polysemous(core)
        self._rows = RowMap()
        self._store = Column("float32", dim) if self.spec.rerank else None
        self._pending = Column("float32", dim)  # rows faiss_rows.. while untrained
        self._faiss_rows = 0  # rows below this were handed to FAISS
        self._faiss_dead = 0  # dead rows FAISS still holds
        nlist = self.spec.nlist
        p = {**DEFAULTS, "nprobe": min(256, max(1, nlist // 16)), **self.spec.params}
        self.nprobe, self.ef_search, self.shortlist = p["nprobe"], p["efSearch"], p["rerank"]
        self.min_train = max(10 * nlist, 2_560)
        #: how many templates to train on (IndexManager samples this many from the store)
        self.train_size = min(max(39 * nlist, 10_000), MAX_TRAIN)

    # -- the VectorIndex port ------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return self._rows.n_live

    @property
    def is_trained(self) -> bool:
        return bool(self._core.is_trained)

    def train(self, x: Vectors) -> None:
        """Train on ``x``; with fewer than ``min_train`` vectors training waits for more adds."""
        if self._core.is_trained:
            log.debug("index %s already trained", self.factory)
            return
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        if len(x) < self.min_train:
            log.info(
                "%s: %d training templates < %d; searching exactly until enough arrive",
                self.factory,
                len(x),
                self.min_train,
            )
            return
        if len(x) > MAX_TRAIN:
            pick = np.random.default_rng(0).choice(len(x), MAX_TRAIN, replace=False)
            x = x[np.sort(pick)]
        log.info("training %s on %d templates", self.factory, len(x))
        self._core.train(x)
        self._flush_pending()

    def add_with_ids(self, x: Vectors, ids: Ids) -> None:
        if len(ids) == 0:
            return
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(x) != len(ids):
            raise IndexError_(f"{len(x)} templates but {len(ids)} ids")
        rows = self._rows.append(ids)
        if self._store is not None:
            self._store.append(x)
        if not self._core.is_trained:
            self._pending.append(x)
            if len(self._pending) >= self.train_size:
                self.train(self._pending.take(np.arange(len(self._pending))))
            return
        self._add_core(x, rows)

    def remove_ids(self, ids: Ids) -> int:
        if len(ids) == 0:
            return 0
        rows = self._rows.live_rows_of(np.asarray(ids, dtype=np.int64))
        n = self._rows.kill(rows)
        in_core = rows[rows < self._faiss_rows]
        self._faiss_dead += len(in_core)
        if self._store is not None:
            self._store.clear_tail_rows(rows)
        self._pending.clear_tail_rows(rows[rows >= self._faiss_rows] - self._faiss_rows)
        self._zero_flat_storage(in_core)
        return n

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        q = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.dim)
        nq = q.shape[0]
        d_out = np.full((nq, k), -np.inf, dtype=np.float32)
        i_out = np.full((nq, k), -1, dtype=np.int64)
        if self.ntotal == 0 or k <= 0:
            return d_out, i_out
        s = max(k, self.shortlist) if self._store is not None else k
        ds: list[Vectors] = []
        rs: list[Ids] = []
        if self._faiss_rows > 0 and self._core.ntotal > 0:
            d, r = self._search_core(q, s)
            ds.append(d)
            rs.append(r)
        if len(self._pending):
            d, r = self._search_pending(q, s)
            ds.append(d)
            rs.append(r)
        d, r = (ds[0], rs[0]) if len(ds) == 1 else (np.hstack(ds), np.hstack(rs))
        dead = ~self._rows.is_live(r)
        r = np.where(dead, -1, r)
        if self._store is not None:
            d, r = rerank(q, r, self._store, k)
        else:
            d, pos = top_k(np.where(dead, -np.inf, d).astype(np.float32), k)
            r = np.where(pos >= 0, np.take_along_axis(r, np.maximum(pos, 0), axis=1), -1)
        ok = r >= 0
        i_out[ok] = self._rows.ids.take(r[ok])
        d_out[ok] = d[ok]
        return d_out, i_out

    def reset(self) -> None:
        self._core.reset()
        self._rows = RowMap()
        self._store = Column("float32", self.dim) if self.spec.rerank else None
        self._pending = Column("float32", self.dim)
        self._faiss_rows = self._faiss_dead = 0

    def save(self, path: Path) -> None:
        """Write everything to ``path`` (via a private temp file, then ``os.replace``)."""
        faiss = _faiss()
        path = Path(path)
        self._compact()
        blob = faiss.serialize_index(self._core)
        meta = {
            "format": FORMAT,
            "dim": self.dim,
            "factory": self.factory,
            "structure": self.spec.structure,
            "faiss_rows": self._faiss_rows,
            "faiss_dead": self._faiss_dead,
            "ntotal": self.ntotal,
            "faiss_crc32": crc32(blob),
        }
        sections: list[Section] = [*self._rows.sections(), ("faiss", "uint8", blob.shape, [blob])]
        if self._store is not None:
            sections.append(vector_section("vectors", self._store, self._rows))
        if len(self._pending):
            sections.append(vector_section("pending", self._pending, self._rows, self._faiss_rows))
        del blob
        part = path.with_name(f"{path.name}.partial-{os.getpid()}")
        try:
            write_container(part, meta, sections)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
        self._map_from(path)  # drop the RAM tails: rows now live in the file just written

    @classmethod
    def load(cls, path: Path, dim: int, factory: str, mmap: bool = True) -> FaissIndex:
        """Open a saved index; full templates and id arrays stay memory-mapped."""
        path = Path(path)
        meta, _ = read_container(path)
        if meta.get("format") != FORMAT or int(meta.get("dim", -1)) != dim:
            raise IndexError_(f"index file {path} has dim {meta.get('dim')}, expected {dim}")
        idx = cls(dim, factory, core=_read_core(path, meta))
        if meta.get("structure") != idx.spec.structure:
            raise IndexError_(
                f"index file {path} holds '{meta.get('structure')}', not '{idx.spec.structure}'"
            )
        idx._faiss_rows = int(meta["faiss_rows"])
        idx._faiss_dead = int(meta["faiss_dead"])
        idx._map_from(path)
        if not mmap:
            idx._rows.ids.base = np.array(idx._rows.ids.base)
            if idx._store is not None:
                idx._store.base = np.array(idx._store.base)
        if idx.ntotal != int(meta["ntotal"]):
            raise IndexError_(f"index file {path}: live rows disagree with its header")
        return idx

    # -- introspection ---------------------------------------------------------------------------
    def live_ids(self) -> Ids:
        """The ids of every live row, in row order."""
        n = len(self._rows)
        rows = np.arange(n, dtype=np.int64)
        out: Ids = self._rows.ids.take(rows[self._rows.is_live(rows)]) if n else rows
        return out

    def set_search_params(
        self, nprobe: int | None = None, ef_search: int | None = None, rerank: int | None = None
    ) -> None:
        self.nprobe = nprobe or self.nprobe
        self.ef_search = ef_search or self.ef_search
        self.shortlist = rerank or self.shortlist

    def footprint(self) -> dict[str, int]:
        """Bytes held in RAM (compressed index, bitmap, unsaved tails) and memory-mapped."""
        core = int(_faiss().serialize_index(self._core).nbytes)
        tails = self._rows.ram_bytes + self._pending.ram_bytes
        mapped = int(self._rows.ids.base.nbytes) + 16 * self._rows.n_live
        if self._store is not None:
            tails += self._store.ram_bytes
            mapped += int(self._store.base.nbytes)
        return {"core": core, "ram": core + tails, "mapped": mapped}

    # -- internals -------------------------------------------------------------------------------
    def _add_core(self, x: Vectors, rows: Ids) -> None:
        if self._ivf is not None:
            self._core.add_with_ids(x, rows)
        else:
            if self._core.ntotal != rows[0]:
                raise IndexError_("index rows out of step with FAISS (rebuild it)")
            self._core.add(x)
        self._faiss_rows = int(rows[-1]) + 1

    def _flush_pending(self) -> None:
        """Hand the rows added before training to the now trained FAISS index."""
        n = len(self._pending)
        if n == 0:
            return
        start = self._faiss_rows
        for s, chunk in self._pending.chunks():
            rows = np.arange(start + s, start + s + len(chunk), dtype=np.int64)
            live = self._rows.is_live(rows)
            if self._ivf is not None:
                if live.any():
                    self._core.add_with_ids(np.ascontiguousarray(chunk[live]), rows[live])
            else:
                self._core.add(np.where(live[:, None], chunk, np.float32(0)))
                self._faiss_dead += int((~live).sum())
        self._faiss_rows = start + n
        self._pending = Column("float32", self.dim)

    def _search_core(self, q: Vectors, s: int) -> tuple[Vectors, Ids]:
        faiss = _faiss()
        sel = None
        if self._faiss_dead:
            sel = faiss.IDSelectorBitmap(self._faiss_rows, faiss.swig_ptr(self._rows.bits))
        params = self._params(sel, s)
        d, r = self._core.search(q, s, params=params)
        return d, r

    def _params(self, sel: Any, s: int) -> Any:
        faiss = _faiss()
        top = faiss.downcast_index(self._core)
        inner = faiss.downcast_index(top.index) if isinstance(top, faiss.IndexPreTransform) else top
        if isinstance(inner, faiss.IndexIVF):
            p = faiss.SearchParametersIVF(nprobe=min(self.nprobe, inner.nlist))
        elif isinstance(inner, faiss.IndexHNSW):
            p = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, s))
        elif sel is None:
            return None
        else:
            p = faiss.SearchParameters()
        if sel is not None:
            p.sel = sel
        if inner is not top:
            outer = faiss.SearchParametersPreTransform()
            outer.index_params = p
            outer.sel = sel
            return outer
        return p

    def _search_pending(self, q: Vectors, s: int) -> tuple[Vectors, Ids]:
        n = len(self._pending)
        rows = np.arange(self._faiss_rows, self._faiss_rows + n, dtype=np.int64)
        scores = np.hstack([q @ chunk.T for _, chunk in self._pending.chunks()])
        scores[:, ~self._rows.is_live(rows)] = -np.inf
        d, pos = top_k(scores.astype(np.float32), s)
        return d, np.where(pos >= 0, pos + self._faiss_rows, -1)

    def _zero_flat_storage(self, rows: Ids) -> None:
        """Overwrite deleted templates held in FAISS's own flat storage (Flat, HNSW)."""
        faiss = _faiss()
        if len(rows) == 0:
            return
        top = faiss.downcast_index(self._core)
        flat = faiss.downcast_index(top.storage) if isinstance(top, faiss.IndexHNSW) else top
        if isinstance(flat, faiss.IndexFlat) and flat.ntotal:
            xb = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dim)
            xb.reshape(flat.ntotal, self.dim)[rows] = 0

    def _compact(self) -> None:
        """Drop dead rows from IVF lists (labels are rows, so nothing is renumbered)."""
        if self._ivf is None or self._faiss_dead == 0:
            return
        faiss = _faiss()
        live = faiss.IDSelectorBitmap(self._faiss_rows, faiss.swig_ptr(self._rows.bits))
        removed = self._core.remove_ids(faiss.IDSelectorNot(live))
        log.info("compacted %s: %d dead entries removed", self.factory, removed)
        self._faiss_dead = 0

    def _map_from(self, path: Path) -> None:
        _, sec = read_container(path)
        self._rows = RowMap(sec["row_ids"], sec["live"], sec["sorted_ids"], sec["sorted_rows"])
        if self._store is not None:
            if "vectors" not in sec:
                raise IndexError_(f"index file {path} has no full templates to re-rank with")
            self._store = Column("float32", self.dim, base=sec["vectors"])
        self._pending = Column("float32", self.dim, base=sec.get("pending"))


def _no_polysemous(core: Any) -> None:
    """index_factory turns on polysemous training for 8-bit PQ; it only serves Hamming
    filtering, which is not used here, and makes training 10x slower."""
    faiss = _faiss()
    top = faiss.downcast_index(core)
    inner = faiss.downcast_index(top.index) if isinstance(top, faiss.IndexPreTransform) else top
    if hasattr(inner, "do_polysemous_training"):
        inner.do_polysemous_training = False


def _read_core(path: Path, meta: dict[str, Any]) -> Any:
    """Read the FAISS blob straight from the file (no second copy in RAM), check its CRC."""
    faiss = _faiss()
    _, sec = read_container(path)
    blob = sec["faiss"]
    if crc32(blob) != int(meta["faiss_crc32"]):
        raise IndexError_(f"index file {path}: FAISS section is corrupt (CRC mismatch)")
    try:
        with path.open("rb") as f:
            f.seek(blob.offset if isinstance(blob, np.memmap) else 0)
            return faiss.read_index(faiss.PyCallbackIOReader(f.read))
    except RuntimeError as exc:
        raise IndexError_(f"cannot read index file {path}: {exc}") from exc
