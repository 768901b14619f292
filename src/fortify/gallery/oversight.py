"""Oversight: search history with filters, CSV export, the auditor's summary, live quality.

Plain functions taking the :class:`~fortify.gallery.core.Gallery` first. Officers see
their own searches; supervisors, auditors and admins see all of them. The summary
(auditor, admin) counts searches per day and per operator, the share with no
candidate, the stated purposes, refusals and retention purges, and checks the audit
chain. The CSV export and the summary are themselves audited.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fortify.accountability import audit
from fortify.accountability.operators import Operator
from fortify.errors import InvalidInput
from fortify.store.tables import AuditEvent, Encounter

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

DECISIONS = ("candidates", "no_candidate")
MAX_DAYS = 366
EXPORT_LIMIT = 100_000
CSV_COLUMNS = (
    "search_id",
    "created_at",
    "operator",
    "purpose",
    "case_id",
    "decision",
    "candidates",
    "top_score",
    "captures",
    "channel",
    "probe_retained",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SearchFilter:
    """Filters of the history list and the export; ``until`` is exclusive."""

    operator: str | None = None
    case_id: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "case_id": self.case_id,
            "decision": self.decision,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` or an ISO date-time (UTC if no zone). A bare date as ``end``
    means the end of that day, so ``until=2024-05-12`` includes the 12th."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"not a date or ISO date-time: {value!r}", value=value) from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def make_filter(
    *,
    operator: str | None = None,
    case_id: str | None = None,
    decision: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> SearchFilter:
    """Validate raw query values into a :class:`SearchFilter`."""
    dec = (decision or "").strip() or None
    if dec is not None and dec not in DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}", decision=dec)
    f = SearchFilter(
        operator=(operator or "").strip() or None,
        case_id=(case_id or "").strip() or None,
        decision=dec,
        since=parse_when(since),
        until=parse_when(until, end=True),
    )
    if f.since and f.until and f.until <= f.since:
        raise InvalidInput("'until' must be after 'since'")
    return f


def _aware(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def scoped(q: Select[Any], operator: Operator, f: SearchFilter) -> Select[Any]:
    """Restrict ``q`` to what ``operator`` may see and to the filter."""
    if not operator.can("searches.read_all"):
        q = q.where(Encounter.operator == operator.name)
    elif f.operator:
        q = q.where(Encounter.operator == f.operator)
    if f.case_id:
        q = q.where(Encounter.case_id == f.case_id)
    if f.decision:
        q = q.where(Encounter.decision == f.decision)
    if f.since:
        q = q.where(Encounter.created_at >= f.since)
    if f.until:
        q = q.where(Encounter.created_at < f.until)
    return q


def summary_row(e: Encounter) -> dict[str, Any]:
    res = e.result or {}
    cands = res.get("candidates") or []
    scores = [float(c["score"]) for c in cands if isinstance(c, dict) and "score" in c]
    consistency = res.get("consistency")
    return {
        "search_id": e.id,
        "operator": e.operator,
        "purpose": e.purpose,
        "case_id": e.case_id,
        "created_at": _aware(e.created_at).isoformat(),
        "decision": e.decision,
        "channel": e.channel,
        "candidates": len(cands),
        "top_score": max(scores) if scores else None,
        "captures": int(res.get("captures") or 1),
        "consistency": consistency if isinstance(consistency, dict) else None,
        "probe_retained": e.probe_path is not None,
    }


def history(
    self: Gallery, *, operator: Operator, f: SearchFilter, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """One page of searches, newest first, with the total under the same filters."""
    base = scoped(select(Encounter), operator, f)
    count_q = scoped(select(func.count()).select_from(Encounter), operator, f)
    with self.db.session() as s:
        total = int(s.scalar(count_q) or 0)
        items = [
            summary_row(e)
            for e in s.scalars(
                base.order_by(Encounter.created_at.desc(), Encounter.id).limit(limit).offset(offset)
            )
        ]
    self.record_now(
        operator,
        "searches.history",
        "",
        limit=limit,
        offset=offset,
        returned=len(items),
        **f.to_dict(),
    )
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "scope": "all" if operator.can("searches.read_all") else "own",
        "items": items,
    }


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(
    self: Gallery, *, operator: Operator, f: SearchFilter, reason: str | None = None
) -> str:
    """Every search under the filters as CSV (newest first); the export is audited."""
    operator.require("searches.read_all")
    from fortify.governance.duties import require_reason

    why = require_reason(reason, "an export")
    q = scoped(select(Encounter), operator, f).order_by(Encounter.created_at.desc())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    n = 0
    with self.db.session() as s:
        for e in s.scalars(q.limit(EXPORT_LIMIT)).yield_per(1000):
            r = summary_row(e)
            w.writerow([_cell(r[c]) for c in CSV_COLUMNS])
            n += 1
    self.record_now(
        operator, "searches.export", "", rows=n, format="csv", reason=why, **f.to_dict()
    )
    return buf.getvalue()


def chain_status(self: Gallery, *, operator: Operator) -> dict[str, Any]:
    """The audit chain's state for supervisors and auditors (a check that holds is audited)."""
    operator.require("searches.read_all")
    with self.db.session() as s:
        report = audit.verify(s, audit.read_anchor(self.anchor_path))
    if report.ok:  # a broken chain is reported, never extended
        self.record_now(operator, "audit.verify", "", ok=True, entries=report.entries)
    return {
        "ok": report.ok,
        "entries": report.entries,
        "head_seq": report.head_seq,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }


def _events(s: Session, since: datetime, actions: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(ts, action, details) of audit events with these actions since ``since``."""
    rows = s.execute(
        select(AuditEvent.ts, AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.action.in_(actions), AuditEvent.ts >= since.isoformat())
        .order_by(AuditEvent.seq)
    ).all()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def summary(self: Gallery, *, operator: Operator, days: int = 30) -> dict[str, Any]:
    """Searches per day and per operator, no-candidate share, purposes, purges, chain."""
    operator.require("audit.read")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}", days=days)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    per_day = {first + timedelta(days=i): [0, 0] for i in range(days)}
    per_op: dict[str, list[int]] = {}
    purposes: Counter[str] = Counter()
    shown: dict[str, str] = {}
    with self.db.session() as s:
        rows = s.execute(
            select(
                Encounter.created_at, Encounter.operator, Encounter.purpose, Encounter.decision
            ).where(Encounter.created_at >= since)
        ).all()
        events = _events(s, since, ("retention.purge", "search.refused", "search.failed"))
        report = audit.verify(s, audit.read_anchor(self.anchor_path))
    for created, op_name, purpose, decision in rows:
        day = _aware(created).date()
        none = 1 if decision == "no_candidate" else 0
        if day in per_day:
            per_day[day][0] += 1
            per_day[day][1] += none
        tally = per_op.setdefault(op_name, [0, 0])
        tally[0] += 1
        tally[1] += none
        key = " ".join(str(purpose).split()).casefold()
        purposes[key] += 1
        shown.setdefault(key, " ".join(str(purpose).split()))
    purges: dict[date, int] = {}
    refused = failed = 0
    for ts, action, details in events:
        if action == "retention.purge":
            d = _aware(datetime.fromisoformat(ts)).date()
            purges[d] = purges.get(d, 0) + int(_json(details).get("purged", 0))
        elif action == "search.refused":
            refused += 1
        else:
            failed += 1
    total = len(rows)
    no_cand = sum(v[1] for v in per_op.values())
    out: dict[str, Any] = {
        "days": days,
        "since": since.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "searches": total,
        "no_candidate": no_cand,
        "no_candidate_share": round(no_cand / total, 4) if total else None,
        "refused": refused,
        "failed": failed,
        "per_day": [
            {"date": d.isoformat(), "searches": v[0], "no_candidate": v[1]}
            for d, v in per_day.items()
        ],
        "per_operator": [
            {"operator": name, "searches": v[0], "no_candidate": v[1]}
            for name, v in sorted(per_op.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ],
        "purposes": [{"purpose": shown[k], "count": n} for k, n in purposes.most_common(20)],
        "purges": [{"date": d.isoformat(), "purged": n} for d, n in sorted(purges.items())],
        "purged_total": sum(purges.values()),
        "audit": {
            "ok": report.ok,
            "entries": report.entries,
            "head_seq": report.head_seq,
            "first_bad_seq": report.first_bad_seq,
            "reason": report.reason,
        },
    }
    if report.ok:  # a broken chain is reported, never extended
        self.record_now(operator, "oversight.summary", "", days=days, searches=total)
    return out


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def quality_check(self: Gallery, data: bytes, *, operator: Operator) -> dict[str, Any]:
    """Detection and quality only, for live capture guidance: nothing stored, not a search."""
    operator.require("search")
    image = self.engine.load(data)
    dets = self.engine.detect(image)
    h, w = image.shape[:2]
    warnings: list[str] = []
    quality: dict[str, Any] | None = None
    if not dets:
        warnings.append("no_face")
    elif len(dets) > 1:
        warnings.append("multiple_faces")
    else:
        quality = dets[0].quality.to_dict()
        warnings.extend(dets[0].quality.warnings)
        if not warnings and not self.engine.usable(self.engine.extract(image, dets[0])):
            warnings.append("face_unrecognizable")  # on its side, covered, not a face
    return {
        "faces": len(dets),
        "boxes": [d.bbox.as_list() for d in dets],
        "width": int(w),
        "height": int(h),
        "warnings": warnings,
        "quality": quality,
        "ready": not warnings,
    }
