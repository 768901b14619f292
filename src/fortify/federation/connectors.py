"""The connector interface and the mapping of a source's answer to the common records.

A connector has a name, the query keys it accepts, a per-source timeout and a transport
(:mod:`fortify.federation.transports`). :meth:`Connector.query` never raises: whatever a
source does (answers late, not at all, too much, garbage, or something hostile) becomes
an answer with a status and a short reason.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fortify.federation.config import RecordMap, SourceConfig
from fortify.federation.records import (
    FIELDS,
    MAX_RECORDS,
    STATUSES,
    SUBJECT_FIELDS,
    Provenance,
    QueryKeys,
    Record,
    Status,
    clean_fields,
    clean_scalar,
)

log = logging.getLogger(__name__)


class SourceFailure(Exception):
    """Raised inside a transport: the answer becomes ``status`` with ``reason``."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status: Status = status
        self.reason = reason


@dataclass(frozen=True)
class OutboundQuery:
    """What leaves Fortify: the keys a source accepts, and who asks and why."""

    query_id: str
    keys: dict[str, str]
    operator: str
    purpose: str
    purpose_code: str
    case_id: str | None

    def to_message(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "keys": self.keys,
            "operator": self.operator,
            "purpose": self.purpose,
            "purpose_code": self.purpose_code,
            "case_id": self.case_id,
        }


@dataclass
class SourceAnswer:
    source: str
    transport: str
    status: Status
    records: list[Record] = field(default_factory=list)
    elapsed_ms: float = 0.0
    reason: str = ""
    dropped_fields: int = 0
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "transport": self.transport,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "reason": self.reason,
            "records": [r.to_dict() for r in self.records],
            "dropped_fields": self.dropped_fields,
            "truncated": self.truncated,
        }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def get_path(obj: Any, path: str) -> Any:
    """``a.b.c`` inside nested dicts; "" is the object itself; missing is None."""
    if not path:
        return obj
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def parse_json(body: bytes, limit: int) -> Any:
    if len(body) > limit:
        raise SourceFailure("error", f"answer larger than {limit} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SourceFailure("error", f"malformed answer: {type(exc).__name__}") from exc


class Connector(ABC):
    """One record source. Subclasses implement :meth:`fetch` for their transport."""

    transport = "abstract"

    def __init__(self, cfg: SourceConfig, max_answer_bytes: int) -> None:
        self.cfg = cfg
        self.max_answer_bytes = max_answer_bytes

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def accepts(self) -> tuple[str, ...]:
        return tuple(self.cfg.accepts)

    @property
    def timeout_s(self) -> float:
        return self.cfg.timeout_ms / 1000.0

    def keys_for(self, keys: QueryKeys) -> dict[str, str]:
        return keys.for_kinds(self.accepts)

    @abstractmethod
    async def fetch(self, query: OutboundQuery) -> Any:
        """Send the query, return the decoded answer (JSON value or SQL rows)."""

    def dispose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections (optional; sync, callable from anywhere)."""

    async def query(self, query: OutboundQuery) -> SourceAnswer:
        """Fetch and map; every failure is contained in the answer's status."""
        t0 = time.perf_counter()
        try:
            raw = await self.fetch(query)
            answer = map_answer(self.cfg, raw, query.query_id, now_iso())
        except SourceFailure as exc:
            answer = SourceAnswer(self.name, self.transport, exc.status, reason=exc.reason)
        except Exception as exc:  # a hostile or broken source must not break the search
            log.warning("source %s failed: %s", self.name, exc)
            answer = SourceAnswer(
                self.name, self.transport, "error", reason=f"{type(exc).__name__}"[:100]
            )
        answer.transport = self.transport
        answer.elapsed_ms = (time.perf_counter() - t0) * 1000.0
        return answer


# --- mapping ---------------------------------------------------------------------------------
def _declared_status(cfg: SourceConfig, raw: Any) -> str | None:
    path = cfg.status_field or ("status" if not cfg.map else None)
    if path is None or not isinstance(raw, dict):
        return None
    value = get_path(raw, path)
    if value is None:
        return None
    text = str(value)[:64]
    mapped = cfg.status_values.get(text, text)
    if mapped not in STATUSES:
        raise SourceFailure("error", f"malformed answer: unknown status {text!r}")
    return mapped


def _native_maps() -> list[RecordMap]:
    return [
        RecordMap(
            records="records",
            kind=kind,
            id="id",
            subject={f: f"subject.{f}" for f in SUBJECT_FIELDS},
            fields={f: f"data.{f}" for f in FIELDS[kind]},
            synthetic="synthetic",
        )
        for kind in FIELDS
    ]


def _map_items(
    m: RecordMap, raw: Any, source: str, query_id: str, at: str, native: bool
) -> tuple[list[Record], int]:
    items = get_path(raw, m.records)
    if items is None:
        return [], 0
    if not isinstance(items, list):
        raise SourceFailure("error", f"malformed answer: '{m.records}' is not a list")
    out: list[Record] = []
    dropped = 0
    for item in items:
        if not isinstance(item, dict):
            raise SourceFailure("error", "malformed answer: a record is not an object")
        if native and item.get("kind") != m.kind:
            continue
        ok, rid = clean_scalar(get_path(item, m.id))
        if not ok or rid is None or rid == "":
            raise SourceFailure("error", "malformed answer: a record has no id")
        subject = clean_fields({k: get_path(item, p) for k, p in m.subject.items()}, SUBJECT_FIELDS)
        data = clean_fields({k: get_path(item, p) for k, p in m.fields.items()}, FIELDS[m.kind])
        if native and isinstance(item.get("data"), dict):
            dropped += len(set(item["data"]) - set(FIELDS[m.kind]))
        dropped += subject.dropped + data.dropped
        synthetic = bool(get_path(item, m.synthetic)) if m.synthetic else False
        prov = Provenance(source, str(rid)[:128], at, query_id)
        out.append(Record(m.kind, subject.values, data.values, prov, synthetic))
    return out, dropped


def map_answer(cfg: SourceConfig, raw: Any, query_id: str, at: str) -> SourceAnswer:
    """A decoded answer -> status and common records (malformed -> SourceFailure)."""
    native = not cfg.map
    if native and not isinstance(raw, dict):
        raise SourceFailure("error", "malformed answer: not a JSON object")
    declared = _declared_status(cfg, raw)
    if declared in ("temporarily_unavailable", "refused", "error", "timeout"):
        return SourceAnswer(cfg.name, "", declared, reason="reported by the source")  # type: ignore[arg-type]
    records: list[Record] = []
    dropped = 0
    for m in cfg.map or _native_maps():
        got, d = _map_items(m, raw, cfg.name, query_id, at, native)
        records.extend(got)
        dropped += d
    truncated = len(records) > MAX_RECORDS
    records = records[:MAX_RECORDS]
    status: Status = "hit" if records else "not_on_file"
    reason = f"{len(records)} record(s)" if records else "no record on file"
    return SourceAnswer(
        cfg.name, "", status, records, reason=reason, dropped_fields=dropped, truncated=truncated
    )
