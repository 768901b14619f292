"""Super Query: one audited request to several record systems at once.

Before anything leaves: an operator allowed to search, a stated purpose, a purpose code
from the configured list and (by default) a case id; refusals are audited. The query is
an audit entry naming the sources it goes to; each source's answer status is another.
The records that come back are kept only for the encounter's retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fortify.accountability.authorize import authorize
from fortify.accountability.operators import Operator
from fortify.errors import (
    CaseRequired,
    ConfigError,
    FortifyError,
    InvalidInput,
    NotFound,
    PurposeCodeRequired,
)
from fortify.federation.config import FederationConfig, load_config
from fortify.federation.connectors import Connector, OutboundQuery, SourceAnswer
from fortify.federation.fanout import fan_out
from fortify.federation.grouping import group_records
from fortify.federation.records import QueryKeys, Record
from fortify.federation.transports import build_connector
from fortify.store.tables import Encounter, RecordQuery, new_id, utcnow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)
RECORDS_NOTICE = (
    "Records from external systems, about whoever matches the query keys: they do not "
    "confirm who the person in front of you is. Verify before acting."
)
NOT_ANSWERED = ("timeout", "temporarily_unavailable", "error")
# of the deadline, kept for auditing and storing the result: 10 %, between 50 and 500 ms
FINISH_RESERVE = (0.1, 0.05, 0.5)


@dataclass
class Federation:
    """The configured sources, built once per gallery."""

    config: FederationConfig
    connectors: list[Connector]


@dataclass
class PreparedQuery:
    id: str
    operator: Operator
    purpose: str
    purpose_code: str
    case_id: str | None
    keys: QueryKeys
    search_id: str | None
    channel: str
    deadline_s: float
    pairs: list[tuple[Connector, OutboundQuery]]
    not_queried: list[dict[str, str]]
    answers: list[SourceAnswer] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


def federation(self: Gallery) -> Federation:
    fed: Federation | None = self.__dict__.get("_federation")
    if fed is None:
        cfg = load_config(self.settings.federation_config)
        conns = [build_connector(s, cfg.max_answer_bytes) for s in cfg.sources if s.enabled]
        fed = self.__dict__.setdefault("_federation", Federation(cfg, conns))
    return fed


def close_federation(self: Gallery) -> None:
    """Release the sources' connections (SQL pools)."""
    fed: Federation | None = self.__dict__.pop("_federation", None)
    for c in fed.connectors if fed else []:
        with contextlib.suppress(Exception):
            c.dispose()


def query_sources(self: Gallery, *, operator: Operator) -> dict[str, Any]:
    """The purpose codes, and the sources this operator may query (with what)."""
    operator.require("search")
    fed = federation(self)
    return {
        "purpose_codes": [{"code": c, "label": t} for c, t in fed.config.purpose_codes.items()],
        "deadline_ms": fed.config.deadline_ms,
        "require_case_id": fed.config.require_case_id,
        "sources": [
            {
                "name": c.name,
                "transport": c.transport,
                "description": c.cfg.description,
                "accepts": list(c.accepts),
                "timeout_ms": c.cfg.timeout_ms,
                "purpose_codes": c.cfg.purpose_codes,
            }
            for c in fed.connectors
            if operator.role in c.cfg.roles
        ],
    }


def _refuse(self: Gallery, op: Operator, exc: FortifyError, channel: str, **details: Any) -> None:
    self.record_now(op, "query.refused", "", code=exc.code, channel=channel, **details)


def prepare_query(
    self: Gallery,
    keys: QueryKeys,
    *,
    operator: Operator,
    purpose: str | None,
    purpose_code: str | None,
    case_id: str | None = None,
    search_id: str | None = None,
    deadline_ms: int | None = None,
    channel: str = "api",
) -> PreparedQuery:
    """Check everything, audit the query, and build what will leave (nothing sent yet)."""
    started = time.perf_counter()
    fed = federation(self)
    code = (purpose_code or "").strip().upper()
    try:
        operator.require("search")
    except FortifyError as exc:
        _refuse(self, operator, exc, channel, purpose_code=code or None, search_id=search_id)
        raise
    auth = authorize(
        self, operator, purpose, case_id, channel=channel, refused_action="query.refused"
    )  # the one door: training, purpose, use policy (audits refusals)
    req = auth.request
    try:
        if code not in fed.config.purpose_codes:
            raise PurposeCodeRequired(
                "every record query needs a purpose code, one of "
                + ", ".join(fed.config.purpose_codes),
                allowed=list(fed.config.purpose_codes),
            )
        if fed.config.require_case_id and not req.case_id:
            raise CaseRequired("every record query needs a case id")
        if not fed.connectors:
            raise ConfigError("no record sources are configured (FORTIFY_FEDERATION_CONFIG)")
        if not keys.kinds():
            raise InvalidInput(
                "give a reference, a name with a date of birth, a document or a plate"
            )
        if deadline_ms is not None and not 50 <= deadline_ms <= fed.config.deadline_ms:
            raise InvalidInput(f"deadline_ms must be between 50 and {fed.config.deadline_ms}")
        retain = _retention(self, operator, search_id)
    except FortifyError as exc:
        _refuse(self, operator, exc, channel, purpose_code=code or None, search_id=search_id)
        raise
    qid = new_id()
    pairs: list[tuple[Connector, OutboundQuery]] = []
    not_queried: list[dict[str, str]] = []
    for c in fed.connectors:
        sent = c.keys_for(keys)
        if operator.role not in c.cfg.roles:
            not_queried.append({"source": c.name, "reason": f"not for role {operator.role}"})
        elif c.cfg.purpose_codes is not None and code not in c.cfg.purpose_codes:
            not_queried.append({"source": c.name, "reason": f"not for purpose code {code}"})
        elif not sent:
            not_queried.append({"source": c.name, "reason": "accepts none of the query keys"})
        else:
            out = OutboundQuery(qid, sent, operator.name, req.purpose, code, req.case_id)
            pairs.append((c, out))
    deadline = (deadline_ms or fed.config.deadline_ms) / 1000.0
    summary = {"key_kinds": keys.kinds(), "sources": [c.name for c, _ in pairs]}
    with self.write() as s:
        s.add(
            RecordQuery(
                id=qid,
                encounter_id=search_id,
                operator=operator.name,
                purpose=req.purpose,
                purpose_code=code,
                case_id=req.case_id,
                channel=channel,
                summary=summary,
                payload={"keys": keys.to_dict()},
                retain_until=retain,
            )
        )
        self.record(
            s,
            operator,
            "query",
            f"query:{qid}",
            purpose=req.purpose,
            purpose_code=code,
            case_id=req.case_id,
            search_id=search_id,
            key_kinds=keys.kinds(),
            sources=summary["sources"],
            not_queried=not_queried,
            deadline_ms=int(deadline * 1000),
            channel=channel,
            **auth.audit(),
        )
    return PreparedQuery(
        qid, operator, req.purpose, code, req.case_id, keys, search_id, channel, deadline,
        pairs, not_queried, started=started,
    )  # fmt: skip


def _retention(self: Gallery, op: Operator, search_id: str | None) -> datetime | None:
    """Payloads live as long as the encounter's probe (kept if a match was confirmed)."""
    hours = self.settings.probe_retention_hours
    if search_id is None:
        return utcnow() + timedelta(hours=hours)
    with self.db.session() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or (enc.operator != op.name and not op.can("searches.read_all")):
            raise NotFound(f"no search '{search_id}' of yours", search_id=search_id)
        if enc.confirmed_identity_id:
            return None
        return enc.retain_until or utcnow() + timedelta(hours=hours)


async def run_query(self: Gallery, q: PreparedQuery) -> AsyncIterator[dict[str, Any]]:
    """Events: ``query``, one ``answer`` per source as it arrives, then ``done``.

    The deadline counts from the start of :func:`prepare_query`; each source's answer
    status becomes an audit entry, written with the stored result in one transaction.
    """
    yield {"event": "query", "data": _header(q)}
    t_fan = time.perf_counter()
    share, low, high = FINISH_RESERVE
    reserve = min(max(q.deadline_s * share, low), high)
    budget = q.deadline_s - (t_fan - q.started) - reserve
    async for ans in fan_out(q.pairs, max(budget, 0.0)):
        q.answers.append(ans)
        yield {"event": "answer", "data": ans.to_dict()}
    t_store = time.perf_counter()
    result = await asyncio.to_thread(_finish, self, q)
    end = time.perf_counter()
    result["timings_ms"] = {  # where the time went (not stored)
        "prepare": round((t_fan - q.started) * 1000, 1),
        "fan_out": round((t_store - t_fan) * 1000, 1),
        "store": round((end - t_store) * 1000, 1),
    }
    yield {"event": "done", "data": result}


def _header(q: PreparedQuery) -> dict[str, Any]:
    return {
        "id": q.id,
        "purpose": q.purpose,
        "purpose_code": q.purpose_code,
        "case_id": q.case_id,
        "search_id": q.search_id,
        "deadline_ms": int(q.deadline_s * 1000),
        "sources": [c.name for c, _ in q.pairs],
        "not_queried": q.not_queried,
        "notice": RECORDS_NOTICE,
    }


def _finish(self: Gallery, q: PreparedQuery) -> dict[str, Any]:
    records: list[Record] = [r for a in q.answers for r in a.records]
    answers = [a.to_dict() for a in q.answers]
    counts: dict[str, int] = {}
    for a in q.answers:
        counts[a.status] = counts.get(a.status, 0) + 1
    result = {
        **_header(q),
        "elapsed_ms": round((time.perf_counter() - q.started) * 1000.0, 1),
        "answers": answers,
        "not_answered": [
            {"source": a.source, "status": a.status, "reason": a.reason}
            for a in q.answers
            if a.status in NOT_ANSWERED
        ],
        "counts": counts,
        "groups": group_records(records),
    }
    with self.write() as s:
        for a in q.answers:  # one audit entry per outbound query and its answer status
            self.record(
                s,
                q.operator,
                "query.answer",
                f"query:{q.id}",
                source=a.source,
                transport=a.transport,
                status=a.status,
                records=len(a.records),
                elapsed_ms=round(a.elapsed_ms, 1),
                reason=a.reason[:200],
                purpose_code=q.purpose_code,
                case_id=q.case_id,
            )
        row = s.get(RecordQuery, q.id)
        if row is not None:
            row.finished_at = utcnow()
            row.summary = {**row.summary, "statuses": {a.source: a.status for a in q.answers}}
            row.payload = {"keys": q.keys.to_dict(), "result": result}
    return result


def super_query(self: Gallery, keys: QueryKeys, **kwargs: Any) -> dict[str, Any]:
    """The whole query, blocking (CLI, library): returns the final result."""
    q = prepare_query(self, keys, **kwargs)

    async def collect() -> dict[str, Any]:
        final: dict[str, Any] = {}
        async for ev in run_query(self, q):
            if ev["event"] == "done":
                final = ev["data"]
        return final

    return asyncio.run(collect())


def get_query(self: Gallery, query_id: str, *, operator: Operator) -> dict[str, Any]:
    """A past query: its summary always, its records while they are retained."""
    with self.db.session() as s:
        row = s.get(RecordQuery, query_id)
        if row is None or (row.operator != operator.name and not operator.can("searches.read_all")):
            raise NotFound(f"no record query '{query_id}' of yours", query_id=query_id)
        out = {
            "id": row.id,
            "operator": row.operator,
            "purpose": row.purpose,
            "purpose_code": row.purpose_code,
            "case_id": row.case_id,
            "search_id": row.encounter_id,
            "created_at": row.created_at.isoformat(),
            "summary": row.summary,
            "retained": row.payload is not None,
            "result": (row.payload or {}).get("result"),
        }
    self.record_now(operator, "query.view", f"query:{query_id}")
    return out


def purge_query_payloads(self: Gallery) -> int:
    """Drop the records of queries past their retention (not of confirmed encounters)."""
    now = utcnow()
    with self.write() as s:
        due = s.scalars(
            select(RecordQuery).where(
                RecordQuery.retain_until.is_not(None),
                RecordQuery.retain_until <= now,
                RecordQuery.payload.is_not(None),
            )
        ).all()
        kept = {
            e.id
            for e in s.scalars(
                select(Encounter).where(
                    Encounter.id.in_([r.encounter_id for r in due if r.encounter_id]),
                    Encounter.confirmed_identity_id.is_not(None),
                )
            )
        }
        purged = [r for r in due if r.encounter_id not in kept]
        for r in purged:
            r.payload = None
        if purged:
            from fortify.gallery.retention import SYSTEM

            self.record(
                s, SYSTEM, "retention.purge_queries", "", purged=len(purged),
                queries=[r.id for r in purged][:1000],
            )  # fmt: skip
    return len(purged)
