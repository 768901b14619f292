"""Keeps the vector index in step with the SQL store (the source of truth).

The index is a derived cache. On :meth:`IndexManager.open` it is loaded from
disk, caught up by replaying the SQL ``change_log`` past the sequence number it
was saved at, and checked against the store (template count plus a self-search
of sampled templates). Any doubt means a rebuild from SQL.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from fortify.errors import IndexError_
from fortify.index.base import Ids, VectorIndex, Vectors
from fortify.index.factory import create_index, load_index, structure
from fortify.store.db import Database
from fortify.store.tables import ChangeLog, TemplateRow
from fortify.templates.codec import decode

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BATCH = 5000


@dataclass
class OpenReport:
    action: str  # "loaded" | "caught_up" | "rebuilt" | "empty"
    reason: str
    ntotal: int
    seq: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "ntotal": self.ntotal,
            "seq": self.seq,
        }


class IndexManager:
    """Owns one index for one model; all access goes through its lock."""

    def __init__(
        self, db: Database, directory: Path, model_id: str, dim: int, factory: str
    ) -> None:
        self.db = db
        self.model_id = model_id
        self.dim = dim
        self.factory = factory
        safe = model_id.replace("/", "_")
        self.path = directory / f"{safe}.index"
        self.meta_path = directory / f"{safe}.meta.json"
        self.seq = 0
        self._index: VectorIndex = create_index(dim, factory)
        self._lock = threading.RLock()
        self._dirty = False

    # -- state on disk -------------------------------------------------------------------------
    def _read_meta(self) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = json.loads(self.meta_path.read_text())
            return meta
        except (OSError, ValueError):
            return None

    def save(self) -> None:
        """Write index then metadata atomically; a crash leaves the old pair or none."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".index.tmp{os.getpid()}")  # one per process
            self._index.save(tmp)
            meta = {
                "model_id": self.model_id,
                "dim": self.dim,
                "factory": self.factory,
                "seq": self.seq,
                "ntotal": self._index.ntotal,
            }
            if tmp.is_file():
                os.chmod(tmp, 0o600)  # templates: private to the service account
            os.replace(tmp, self.path)
            mtmp = self.meta_path.with_suffix(f".json.tmp{os.getpid()}")
            mtmp.write_text(json.dumps(meta, indent=1))
            os.chmod(mtmp, 0o600)
            os.replace(mtmp, self.meta_path)
            self._dirty = False

    # -- SQL side ------------------------------------------------------------------------------
    def store_counts(self) -> tuple[int, int]:
        """(number of templates of this model, newest change-log seq) in the store."""
        with self.db.session() as s:
            n = s.scalar(
                select(func.count())
                .select_from(TemplateRow)
                .where(TemplateRow.model_id == self.model_id)
            )
            seq = s.scalar(select(func.max(ChangeLog.seq)))
        return int(n or 0), int(seq or 0)

    def open(self, progress: Progress | None = None) -> OpenReport:
        """Load, catch up and check the index; rebuild it from SQL when in doubt."""
        with self._lock:
            meta = self._read_meta()
            reason = ""
            if meta is None or not self.path.exists():
                reason = "no index on disk"
            elif (
                structure(str(meta.get("factory"))) != structure(self.factory)
                or meta.get("dim") != self.dim
            ):
                reason = f"index was built as {meta.get('factory')}, settings say {self.factory}"
            else:
                try:
                    self._index = load_index(self.path, self.dim, self.factory)
                    self.seq = int(meta["seq"])
                    if self._index.ntotal != int(meta["ntotal"]):
                        reason = "index file and its metadata disagree"
                except (IndexError_, OSError, KeyError, ValueError) as exc:
                    reason = f"index unreadable: {exc}"
            if not reason:
                _, store_seq = self.store_counts()
                if self.seq > store_seq:
                    reason = f"index is ahead of the store (seq {self.seq} > {store_seq})"
            if not reason:
                applied = self.catch_up()
                problem = self.check()
                if problem is None:
                    action = "caught_up" if applied else "loaded"
                    if applied:
                        self.save()
                    return OpenReport(action, f"{applied} changes replayed", self.ntotal, self.seq)
                reason = problem
            log.warning("rebuilding %s index from the store: %s", self.model_id, reason)
            self.rebuild(progress)
            return OpenReport("rebuilt", reason, self.ntotal, self.seq)

    def check(self, samples: int = 5) -> str | None:
        """None when the index matches the store, else what is wrong."""
        n, _ = self.store_counts()
        if n != self.ntotal:
            return f"index holds {self.ntotal} templates, the store {n}"
        if n == 0:
            return None
        mine = TemplateRow.model_id == self.model_id
        with self.db.session() as s:  # random ids by primary-key seeks, not a table sort
            lo, hi = s.execute(
                select(func.min(TemplateRow.id), func.max(TemplateRow.id)).where(mine)
            ).one()
            rng = random.Random()
            rows = []
            for _ in range(samples):
                row = s.execute(
                    select(TemplateRow.id, TemplateRow.data)
                    .where(mine, TemplateRow.id >= rng.randint(int(lo), int(hi)))
                    .order_by(TemplateRow.id)
                    .limit(1)
                ).first()
                if row is not None:
                    rows.append(row)
        x = np.stack([decode(r.data).vector for r in rows])
        d, i = self.search(x, 1)
        for (tid, _), got, score in zip(rows, i[:, 0], d[:, 0], strict=True):
            if got != tid and not score >= 0.9999:
                return f"self-search of template {tid} returned {got}"
        return None

    def rebuild(self, progress: Progress | None = None) -> None:
        with self._lock:
            n, seq = self.store_counts()
            index = create_index(self.dim, self.factory)
            if hasattr(index, "reset_at"):  # shared by processes: older replays are ignored
                index.reset_at(seq)
            else:
                index.reset()  # a Milvus collection outlives the process: refill it from SQL
            done = 0
            with self.db.session() as s:
                want = int(getattr(index, "train_size", 50_000))
                if not index.is_trained and n >= want:
                    sample = [
                        decode(d).vector
                        for d in s.scalars(
                            select(TemplateRow.data)
                            .where(TemplateRow.model_id == self.model_id)
                            .limit(want)
                        )
                    ]
                    index.train(np.stack(sample))
                # fewer templates than training needs: the index searches them exactly
                # and trains itself once enough have arrived
                last_id = -1
                while True:
                    rows = s.execute(
                        select(TemplateRow.id, TemplateRow.data)
                        .where(TemplateRow.model_id == self.model_id, TemplateRow.id > last_id)
                        .order_by(TemplateRow.id)
                        .limit(BATCH)
                    ).all()
                    if not rows:
                        break
                    ids = np.array([r.id for r in rows], dtype=np.int64)
                    index.add_with_ids(np.stack([decode(r.data).vector for r in rows]), ids)
                    last_id = int(ids[-1])
                    done += len(rows)
                    if progress:
                        progress(done, n)
            self._index, self.seq = index, seq
            # templates written while we scanned are replayed idempotently
            self.catch_up(idempotent=True)
            self.save()

    def catch_up(self, idempotent: bool = False) -> int:
        """Replay change-log entries newer than ``self.seq``; returns how many.

        Writers take the audit-head row lock before writing change-log rows, so
        sequence numbers commit in order and nothing below ``top`` can appear later.
        """
        with self._lock:
            applied = 0
            with self.db.session() as s:
                top = int(s.scalar(select(func.max(ChangeLog.seq))) or 0)
                while self.seq < top:
                    changes = (
                        s.execute(
                            select(ChangeLog)
                            .where(
                                ChangeLog.seq > self.seq,
                                ChangeLog.seq <= top,
                                ChangeLog.model_id == self.model_id,
                            )
                            .order_by(ChangeLog.seq)
                            .limit(BATCH)
                        )
                        .scalars()
                        .all()
                    )
                    if not changes:
                        self.seq = top  # only other models' entries were left
                        break
                    add_ids = [c.template_id for c in changes if c.op == "add"]
                    vectors: dict[int, Vectors] = {}
                    if add_ids:
                        q = select(TemplateRow.id, TemplateRow.data).where(
                            TemplateRow.id.in_(add_ids)
                        )
                        vectors = {r.id: decode(r.data).vector for r in s.execute(q)}
                    batch: Any = getattr(self._index, "apply_changes", None)
                    if batch is not None:  # OrderedIndex: the whole batch in one call
                        batch(
                            [
                                (int(c.seq), c.op, int(c.template_id), vectors.get(c.template_id))
                                for c in changes
                                if c.op == "remove" or c.template_id in vectors
                            ]
                        )
                    else:
                        for c in changes:
                            self._apply(c, vectors, idempotent)
                    self.seq = int(changes[-1].seq)
                    applied += len(changes)
                    self._dirty = True
            return applied

    def _apply(self, c: ChangeLog, vectors: dict[int, Vectors], idempotent: bool) -> None:
        ids: Ids = np.array([c.template_id], dtype=np.int64)
        if c.op == "remove":
            self._index.remove_ids(ids)
        elif c.template_id in vectors:  # added, then deleted later: nothing to add
            if idempotent:
                self._index.remove_ids(ids)
            self._index.add_with_ids(vectors[c.template_id][None, :], ids)

    # -- queries -------------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return self._index.ntotal

    def search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        with self._lock:
            return self._index.search(x, k)

    def refresh_and_search(self, x: Vectors, k: int) -> tuple[Vectors, Ids]:
        """Replay any change committed by another process, then search."""
        with self._lock:
            self.catch_up()
            return self._index.search(x, k)

    def close(self) -> None:
        with self._lock:
            if self._dirty:
                self.save()
            closer = getattr(self._index, "close", None)
            if callable(closer):
                closer()  # Milvus: drop the connection
