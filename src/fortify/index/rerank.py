"""Full templates beside a compressed index: memory-mapped storage and exact re-ranking.

A compressed index (IVF-PQ: 32 bytes a template) ranks approximately. Re-ranking its
shortlist against the full float32 templates restores exact scores and order for the
candidates that matter, while the 512 bytes a template (128-d) stay on disk and are
paged in on demand. Design:

* Rows, not template ids, label the compressed index. Row ``r``'s full template,
  template id and liveness live in :class:`Column` arrays indexed by ``r``; there is
  no id → row hash map in RAM (at 10M templates a Python dict would cost ~1 GB).
* Each :class:`Column` is a read-only memory-mapped *base* (what was saved) plus a
  small in-RAM *tail* (rows added since). Saving writes base + tail into one new file.
* Deletion clears a bit in the live bitmap (1 bit a row), honoured by every search
  at once; the saved file carries zeros and id ``-1`` for dead rows, so a deleted
  template is gone from disk at the next save.

The file container (:func:`write_container` / :func:`read_container`) is one file:
magic, JSON header, then page-aligned raw sections that :func:`numpy.memmap` maps
directly. One file keeps the caller's temp-file + ``os.replace`` save atomic.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.errors import IndexError_
from fortify.index.base import Ids, Vectors

log = logging.getLogger(__name__)

Array = npt.NDArray[Any]
MAGIC = b"FTFYIX01"
PAGE = 4096
Section = tuple[str, str, tuple[int, ...], Iterable[Array]]


# -- file container --------------------------------------------------------------------------
def write_container(path: Path, meta: dict[str, Any], sections: Sequence[Section]) -> None:
    """Write ``meta`` and raw array sections (streamed in chunks) to ``path``, then fsync."""
    layout: dict[str, dict[str, Any]] = {}
    for name, dtype, shape, _ in sections:
        layout[name] = {"dtype": dtype, "shape": list(shape), "offset": 0}
    head_room = PAGE
    while True:
        off = head_room
        for name, dtype, shape, _ in sections:
            layout[name]["offset"] = off
            size = int(np.prod(shape)) * np.dtype(dtype).itemsize
            off += -(-size // PAGE) * PAGE
        header = json.dumps({"meta": meta, "sections": layout}).encode()
        if 16 + len(header) <= head_room:
            break
        head_room = -(-(16 + len(header)) // PAGE) * PAGE
    with path.open("wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header)) + header)
        for name, dtype, shape, chunks in sections:
            f.seek(layout[name]["offset"])
            want = int(np.prod(shape)) * np.dtype(dtype).itemsize
            got = 0
            for chunk in chunks:
                b = np.ascontiguousarray(chunk, dtype=dtype)
                f.write(b.data)
                got += b.nbytes
            if got != want:
                raise IndexError_(f"section {name}: wrote {got} bytes, expected {want}")
        f.truncate(off)
        f.flush()
        os.fsync(f.fileno())


def read_container(path: Path) -> tuple[dict[str, Any], dict[str, Array]]:
    """Map a container written by :func:`write_container`; sections are read-only memmaps."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(8)
            if magic != MAGIC:
                raise IndexError_(f"{path} is not a Fortify index file")
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size:
                raise IndexError_(f"{path}: header length {n} beyond end of file")
            doc = json.loads(f.read(n))
    except (OSError, ValueError, struct.error) as exc:
        raise IndexError_(f"cannot read index file {path}: {exc}") from exc
    out: dict[str, Array] = {}
    for name, s in doc["sections"].items():
        shape, dtype, offset = tuple(s["shape"]), np.dtype(s["dtype"]), int(s["offset"])
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if offset + nbytes > size:
            raise IndexError_(f"{path} is truncated (section {name})")
        if nbytes == 0:
            out[name] = np.zeros(shape, dtype=dtype)
        else:
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    meta: dict[str, Any] = doc["meta"]
    return meta, out


def crc32(a: Array) -> int:
    return zlib.crc32(np.ascontiguousarray(a).data) & 0xFFFFFFFF


# -- growable columns ------------------------------------------------------------------------
class Column:
    """Rows of fixed width: a read-only (memory-mapped) base plus a growing in-RAM tail.

    The tail is a list of blocks of at most ``BLOCK`` rows, so growing it never copies
    what is already there (a 10M-row build would otherwise need twice its size).
    """

    BLOCK = 1 << 16

    def __init__(self, dtype: str, width: int = 0, base: Array | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.width = width
        self._row_shape: tuple[int, ...] = (width,) if width else ()
        self.base: Array = (
            base if base is not None else np.zeros((0, *self._row_shape), dtype=self.dtype)
        )
        self._blocks: list[Array] = []
        self._n_tail = 0

    def __len__(self) -> int:
        return int(self.base.shape[0]) + self._n_tail

    @property
    def n_base(self) -> int:
        return int(self.base.shape[0])

    @property
    def n_tail(self) -> int:
        return self._n_tail

    @property
    def ram_bytes(self) -> int:
        return sum(int(b.nbytes) for b in self._blocks)

    def _used(self, i: int) -> int:
        return min(self.BLOCK, self._n_tail - i * self.BLOCK)

    def append(self, a: Array) -> None:
        a = np.asarray(a, dtype=self.dtype)
        i = 0
        while i < len(a):
            if not self._blocks or self._used(len(self._blocks) - 1) == self.BLOCK:
                self._blocks.append(np.zeros((0, *self._row_shape), dtype=self.dtype))
            used = self._used(len(self._blocks) - 1)
            blk = self._blocks[-1]
            if used == blk.shape[0]:
                cap = min(self.BLOCK, max(2 * used, used + len(a) - i, 1024))
                grown = np.zeros((cap, *self._row_shape), dtype=self.dtype)
                grown[:used] = blk[:used]
                self._blocks[-1] = blk = grown
            n = min(blk.shape[0] - used, len(a) - i)
            blk[used : used + n] = a[i : i + n]
            i += n
            self._n_tail += n

    def tail(self) -> Array:
        """A copy of the in-RAM rows."""
        parts = [b[: self._used(j)] for j, b in enumerate(self._blocks)]
        return np.concatenate(parts) if parts else np.zeros((0, *self._row_shape), self.dtype)

    def take(self, rows: Ids) -> Array:
        rows = np.asarray(rows, dtype=np.int64)
        nb = self.n_base
        out = np.empty((rows.shape[0], *self._row_shape), dtype=self.dtype)
        in_base = rows < nb
        if in_base.any():
            out[in_base] = self.base[rows[in_base]]
        if not in_base.all():
            t = rows[~in_base] - nb
            blk, off = t // self.BLOCK, t % self.BLOCK
            got = np.empty((t.shape[0], *self._row_shape), dtype=self.dtype)
            for b in np.unique(blk):
                m = blk == b
                got[m] = self._blocks[int(b)][off[m]]
            out[~in_base] = got
        return out

    def clear_tail_rows(self, rows: Ids) -> None:
        """Zero rows held in RAM (the base is read-only; it is rewritten at save)."""
        t = np.asarray(rows, dtype=np.int64)
        t = t[t >= self.n_base] - self.n_base
        for r in t:
            self._blocks[int(r) // self.BLOCK][int(r) % self.BLOCK] = 0

    def chunks(self, size: int = 1 << 16) -> Iterator[tuple[int, Array]]:
        """(first row, rows) in order: the base ``size`` rows at a time, then each block."""
        nb = self.n_base
        for s in range(0, nb, size):
            yield s, np.asarray(self.base[s : min(s + size, nb)])
        for j, b in enumerate(self._blocks):
            yield nb + j * self.BLOCK, b[: self._used(j)]


# -- rows: template ids, liveness, lookup ----------------------------------------------------
class RowMap:
    """Row → template id, a live bitmap, and id → row lookup without a hash map in RAM.

    Lookup uses sorted (id, row) arrays written at save time (memory-mapped) for the
    base, and a lazily sorted copy of the in-RAM tail.
    """

    def __init__(
        self,
        ids: Array | None = None,
        live: Array | None = None,
        sorted_ids: Array | None = None,
        sorted_rows: Array | None = None,
    ) -> None:
        self.ids = Column("int64", base=ids)
        n = len(self.ids)
        self.bits = np.zeros(max(1024, (n + 7) // 8), dtype=np.uint8)
        if live is not None:
            self.bits[: live.shape[0]] = live
        self.n_live = int(
            np.unpackbits(self.bits[: (n + 7) // 8], count=n, bitorder="little").sum()
        )
        self._sorted_ids = sorted_ids if sorted_ids is not None else np.zeros(0, np.int64)
        self._sorted_rows = sorted_rows if sorted_rows is not None else np.zeros(0, np.int64)
        self._tail_order: Array | None = None
        self._tail_sorted: Array = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def ram_bytes(self) -> int:
        return int(self.bits.nbytes) + self.ids.ram_bytes

    def append(self, ids: Ids) -> Ids:
        start, n = len(self), len(ids)
        self.ids.append(ids)
        need = (start + n + 7) // 8
        if need > self.bits.shape[0]:
            grown = np.zeros(max(need, 2 * self.bits.shape[0]), dtype=np.uint8)
            grown[: self.bits.shape[0]] = self.bits
            self.bits = grown
        rows = np.arange(start, start + n, dtype=np.int64)
        np.bitwise_or.at(self.bits, rows >> 3, (1 << (rows & 7)).astype(np.uint8))
        self.n_live += n
        self._tail_order = None
        return rows

    def is_live(self, rows: Ids) -> npt.NDArray[np.bool_]:
        rows = np.asarray(rows, dtype=np.int64)
        ok = (rows >= 0) & (rows < len(self))
        r = np.where(ok, rows, 0)
        out: npt.NDArray[np.bool_] = ok & ((self.bits[r >> 3] >> (r & 7)) & 1).astype(bool)
        return out

    def kill(self, rows: Ids) -> int:
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        rows = rows[self.is_live(rows)]
        np.bitwise_and.at(self.bits, rows >> 3, ~(1 << (rows & 7)).astype(np.uint8))
        self.n_live -= len(rows)
        return len(rows)

    def live_rows_of(self, ids: Ids) -> Ids:
        """Live rows whose template id is in ``ids``."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        found: list[Array] = []
        if self._sorted_ids.shape[0]:
            lo = np.searchsorted(self._sorted_ids, ids, side="left")
            hi = np.searchsorted(self._sorted_ids, ids, side="right")
            for a, b in zip(lo, hi, strict=True):
                if b > a:
                    found.append(np.asarray(self._sorted_rows[a:b]))
        if self.ids.n_tail:
            if self._tail_order is None:
                tail = self.ids.tail()
                self._tail_order = np.argsort(tail, kind="stable")
                self._tail_sorted = tail[self._tail_order]
            st = self._tail_sorted
            lo = np.searchsorted(st, ids, side="left")
            hi = np.searchsorted(st, ids, side="right")
            for a, b in zip(lo, hi, strict=True):
                if b > a:
                    found.append(self._tail_order[a:b] + self.ids.n_base)
        if not found:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(found).astype(np.int64)
        return rows[self.is_live(rows)]

    def live_mask(self, start: int, stop: int) -> npt.NDArray[np.bool_]:
        return self.is_live(np.arange(start, stop, dtype=np.int64))

    def sections(self) -> list[Section]:
        """Sections to save: ids (-1 where dead), live bits, sorted lookup of live rows."""
        n = len(self)
        ids = np.empty(n, dtype=np.int64)
        for s, chunk in self.ids.chunks():
            ids[s : s + len(chunk)] = np.where(self.live_mask(s, s + len(chunk)), chunk, -1)
        live_rows = np.flatnonzero(ids >= 0)
        order = np.argsort(ids[live_rows], kind="stable")
        srt_rows = live_rows[order]
        srt_ids = ids[srt_rows]
        nbits = (n + 7) // 8
        return [
            ("row_ids", "int64", (n,), [ids]),
            ("live", "uint8", (nbits,), [self.bits[:nbits]]),
            ("sorted_ids", "int64", (len(srt_ids),), [srt_ids]),
            ("sorted_rows", "int64", (len(srt_rows),), [srt_rows]),
        ]


def vector_section(name: str, col: Column, rows: RowMap, row0: int = 0) -> Section:
    """A section with all of ``col`` (column row ``j`` is row ``row0 + j``), dead rows zeroed."""

    def gen() -> Iterator[Array]:
        for s, chunk in col.chunks():
            mask = rows.live_mask(row0 + s, row0 + s + len(chunk))
            yield np.where(mask[:, None], chunk, np.float32(0))

    return (name, "float32", (len(col), col.width), gen())


# -- exact re-ranking ------------------------------------------------------------------------
def top_k(scores: Vectors, k: int) -> tuple[Vectors, Ids]:
    """Per-row best ``k`` columns by score, best first; pads with -inf / -1."""
    nq, m = scores.shape
    d = np.full((nq, k), -np.inf, dtype=np.float32)
    idx = np.full((nq, k), -1, dtype=np.int64)
    kk = min(k, m)
    if kk == 0:
        return d, idx
    part = (
        np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        if kk < m
        else np.tile(np.arange(m), (nq, 1))
    )
    ps = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-ps, axis=1, kind="stable")
    d[:, :kk] = np.take_along_axis(ps, order, axis=1)
    idx[:, :kk] = np.take_along_axis(part, order, axis=1)
    idx[:, :kk][~np.isfinite(d[:, :kk])] = -1
    return d, idx


def rerank(q: Vectors, cand: Ids, store: Column, k: int) -> tuple[Vectors, Ids]:
    """Exact inner products of queries ``q`` with their candidate rows; best ``k`` rows.

    ``cand`` is ``(n_queries, shortlist)`` of rows, ``-1`` for none.
    """
    valid = cand >= 0
    scores = np.full(cand.shape, -np.inf, dtype=np.float32)
    step = max(1, (1 << 16) // max(1, cand.shape[1]))  # gather <= 64k templates at a time
    for s in range(0, cand.shape[0], step):
        v = valid[s : s + step]
        if v.any():
            qi, _ = np.nonzero(v)
            vecs = store.take(cand[s : s + step][v])
            part = scores[s : s + step]
            part[v] = np.einsum("ij,ij->i", vecs, q[s : s + step][qi], dtype=np.float32)
    d, pos = top_k(scores, k)
    rows = np.where(pos >= 0, np.take_along_axis(cand, np.maximum(pos, 0), axis=1), -1)
    return d, rows
