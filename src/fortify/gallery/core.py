"""Gallery: owns the database, the face engine and the index manager."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.accountability import audit
from fortify.accountability.anchor import anchor_head
from fortify.accountability.operators import Operator
from fortify.config import Settings
from fortify.gallery import enroll as _enroll
from fortify.gallery import hardening as _hardening
from fortify.gallery import query as _query
from fortify.gallery import records as _records
from fortify.gallery import retention as _retention
from fortify.gallery import search as _search
from fortify.gallery.retemplate import engine_for_stored, modality_coverage
from fortify.index.factory import partition_caveat
from fortify.index.sync import IndexManager, OpenReport, Progress
from fortify.matching.calibration import Calibration
from fortify.modalities.base import Modality
from fortify.modalities.face.engine import Engine
from fortify.modalities.registry import Registry
from fortify.store.db import Database
from fortify.store.tables import AuditHead, Source

log = logging.getLogger(__name__)


class Gallery:
    """Everything a search or an enrolment needs. Thread-safe; one per process."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.db = Database(settings)
        self.db.migrate()
        # a gallery searches with the model of its stored templates until re-templated
        self.engine = engine or engine_for_stored(self.db, settings, Engine(settings))
        self.modalities = Registry(settings, face_engine=self.engine)
        model_id, dim = self.engine.model_spec()
        self.index = IndexManager(
            self.db, settings.index_dir, model_id, dim, settings.index_factory
        )
        caveat = partition_caveat(settings.index_factory, dim)
        if caveat:
            log.warning("%s", caveat)
        self.indexes: dict[str, IndexManager] = {"face": self.index}  # one per modality
        self._opened: OpenReport | None = None
        self._opened_other: dict[str, OpenReport] = {}
        # one calibration per modality, loaded once, on its first search
        self.calibration_cache: dict[str, Calibration | None] = {}
        self._open_lock = threading.Lock()
        self.scrub_due = False  # deletions since the last WAL checkpoint + index save
        _hardening.start_up(self)

    @property
    def anchor_path(self) -> Path:
        return self.settings.home / "audit.anchor"

    def open_index(self, progress: Progress | None = None) -> OpenReport:
        """Load, check against the store, and rebuild if needed (idempotent)."""
        with self._open_lock:
            if self._opened is None:
                self._opened = self.index.open(progress)
                log.info("index %s", self._opened.to_dict())
            return self._opened

    def modality(self, name: str = "face") -> Modality:
        """The modality plug-in called ``name`` (``invalid_input`` if unknown)."""
        return self.modalities.get(name)

    def index_for(self, name: str = "face") -> IndexManager:
        """The index of a modality (its model id keys the index files and rows)."""
        mod = self.modalities.get(name)
        with self._open_lock:
            if mod.name not in self.indexes:
                model_id, dim = mod.model_spec()
                self.indexes[mod.name] = IndexManager(
                    self.db,
                    self.settings.index_dir,
                    model_id,
                    dim,
                    mod.index_factory(self.settings.index_factory),
                )
            return self.indexes[mod.name]

    def open_modality_index(self, name: str = "face") -> IndexManager:
        """The index of a modality, opened (loaded, checked, caught up) once."""
        if name == "face":
            self.open_index()
            return self.index
        idx = self.index_for(name)
        with self._open_lock:
            if name not in self._opened_other:
                self._opened_other[name] = idx.open(None)
                log.info("%s index %s", name, self._opened_other[name].to_dict())
                cov = modality_coverage(self.db, name, idx.model_id)
                if not cov.complete:
                    log.warning(
                        "%d of %d %s samples have no %s template and are not searched:"
                        " run `fortify index retemplate --modality %s`",
                        cov.samples - cov.done, cov.samples, name, idx.model_id, name,
                    )  # fmt: skip
        return idx

    def close(self) -> None:
        _query.close_federation(self)
        if self._opened is not None:
            self.index.close()
        for name in self._opened_other:
            self.indexes[name].close()
        self.db.dispose()

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that holds the audit-chain lock; anchors the chain after."""
        with self.db.transaction() as s:
            audit.lock_head(s)
            yield s
            s.flush()
            head = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            seq, h = head.seq, head.hash
        anchor_head(self.settings, self.anchor_path, seq, h)

    def record(
        self, s: Session, op: Operator, action: str, target: str = "", **details: Any
    ) -> None:
        audit.append(s, actor=op.name, action=action, target=target, details=details)

    def record_now(self, op: Operator, action: str, target: str = "", **details: Any) -> None:
        """An audit entry in its own transaction (views, refusals, failures)."""
        with self.write() as s:
            self.record(s, op, action, target, **details)

    def source(self, s: Session, name: str) -> Source:
        src = s.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
        if src is None:
            src = Source(name=name)
            s.add(src)
            s.flush()
        return src

    # -- verbs (implemented in sibling modules, bound here as methods) ----------------------
    add_sample = _enroll.add_sample
    enroll_image = _enroll.enroll_image
    opt_out = _enroll.opt_out
    store_prepared = _enroll.store_prepared
    delete_identity = _records.delete_identity
    get_identity = _records.get_identity
    list_identities = _records.list_identities
    sample_image = _records.sample_image
    verify_audit = _records.verify_audit
    get_search = _search.get_search
    add_capture = _search.add_capture
    confirm_match = _search.confirm_match
    identify = _search.identify
    list_searches = _search.list_searches
    purge_expired = _retention.purge_expired
    super_query = _query.super_query
    prepare_query = _query.prepare_query
    run_query = _query.run_query
    get_query = _query.get_query
    query_sources = _query.query_sources
    opt_out_identity = _hardening.opt_out_identity
