"""Public transparency report: aggregate figures only, from the hash-chained audit log.

``build_report(gallery, period)`` counts, for one period, the searches by purpose
category and channel, refusals by reason, the candidate rate, confirmed matches,
disputes, approvals, deletions and purges; adds the per-group accuracy of the latest
evaluation, the retention settings, the use policy's version and digest and the audit
chain's head hash. It never includes operator names, purposes, case ids, references,
record ids or photos (:mod:`fortify.governance.transparency_render` draws it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from fortify.accountability import audit
from fortify.accountability.use_policy import load_policy
from fortify.errors import InvalidInput
from fortify.store.tables import AuditEvent, Identity

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

UNCATEGORISED = "uncategorised (before the use policy)"
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime  # exclusive


def _month(y: int, m: int) -> datetime:
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return datetime(y, m, 1, tzinfo=UTC)


def parse_period(value: str | None, today: date | None = None) -> Period:
    """``2026-Q4``, ``2026-11`` or ``2026``; default: the current quarter."""
    if not value:
        d = today or date.today()
        value = f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    v = value.strip().upper()
    if m := _QUARTER.match(v):
        y, q = int(m[1]), int(m[2])
        return Period(v, _month(y, 3 * q - 2), _month(y, 3 * q + 1))
    if (m := _MONTH.match(v)) and 1 <= int(m[2]) <= 12:
        y, mo = int(m[1]), int(m[2])
        return Period(v, _month(y, mo), _month(y, mo + 1))
    if m := _YEAR.match(v):
        return Period(v, _month(int(m[1]), 1), _month(int(m[1]) + 1, 1))
    raise InvalidInput(f"period must look like 2026-Q4, 2026-11 or 2026, not {value!r}")


def find_eval(g: Gallery, path: Path | None) -> Path | None:
    """The evaluation JSON to report: the given path, the setting, else the newest found."""
    for p in (path, g.settings.eval_report):
        if p is not None:
            if not Path(p).is_file():
                raise InvalidInput(f"evaluation report {p} not found")
            return Path(p)
    found = [
        f
        for d in (g.settings.home / "eval", Path("docs") / "eval")
        if d.is_dir()
        for f in d.glob("*.json")
    ]
    return max(found, key=lambda f: f.stat().st_mtime) if found else None


def _accuracy(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"evaluation report {path} is not JSON: {exc}") from exc
    pg = m.get("per_group") or {}
    boot = pg.get("bootstrap") or {}
    groups = pg.get("groups") or {}
    return {
        "label": str(m.get("label", "")),
        "file": path.name,
        "fnir_at_fpir_0.01": m.get("fnir_at_fpir_0.01"),
        "groups": {
            str(name): {
                "n_mated": int(r.get("n_mated", 0)),
                "n_nonmated": int(r.get("n_nonmated", 0)),
                "fpir": r.get("fpir_at_global_threshold"),
                "fnir": r.get("fnir_at_global_threshold"),
                "low_sample": bool(r.get("low_sample", False)),
            }
            for name, r in groups.items()
        },
        "fpir_ratio_worst_to_best": pg.get("fpir_ratio_worst_to_best"),
        "fnir_ratio_worst_to_best": pg.get("fnir_ratio_worst_to_best"),
        # 90 % bootstrap intervals over identities (fortify.eval.bootstrap), when reported
        "fpir_ratio_interval": boot.get("fpir_ratio_interval"),
        "fnir_ratio_interval": boot.get("fnir_ratio_interval"),
    }


def build_report(g: Gallery, period: Period, eval_path: Path | None = None) -> dict[str, Any]:
    """Aggregate, non-personal figures for ``period`` (see the module docstring)."""
    lo = period.start.isoformat(timespec="microseconds")
    hi = period.end.isoformat(timespec="microseconds")
    by_cat: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    rapid: Counter[str] = Counter()
    disputes: Counter[str] = Counter()
    approvals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    with g.db.session() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.ts >= lo, AuditEvent.ts < hi)
            .order_by(AuditEvent.seq)
        ).all()
        identities = int(s.scalar(select(func.count()).select_from(Identity)) or 0)
        chain = audit.verify(s, audit.read_anchor(g.anchor_path))
    for action, raw in rows:
        try:
            d = json.loads(raw)
        except ValueError:
            d = {}
        if action == "search":
            by_cat[str(d.get("purpose_category") or UNCATEGORISED)] += 1
            by_channel[str(d.get("channel") or "api")] += 1
            decisions[str(d.get("decision") or "unknown")] += 1
        elif action == "search.refused":
            refusals[str(d.get("code") or "unknown")] += 1
        elif action == "search.failed":
            failures[str(d.get("code") or "unknown")] += 1
        elif action == "search.rapid_delete":
            rapid[str(d.get("outcome") or "unknown")] += 1
        elif action == "dispute.record":
            disputes[str(d.get("kind") or "dispute")] += 1
        elif action == "approval.request":
            approvals["requested"] += 1
        elif action == "approval.decide":
            approvals[str(d.get("status") or "unknown")] += 1
        elif action == "retention.purge":
            counts["probes_purged_at_retention_deadline"] += int(d.get("purged") or 0)
        elif action == "search.confirm":
            counts["confirmed_matches"] += 1
        elif action == "identity.delete":
            counts["records_deleted"] += 1
        elif action in ("opt_out", "identity.opt_out"):
            counts["opt_outs"] += 1
        elif action == "searches.export":
            counts["exports_of_search_history"] += 1
        elif action == "subject.report":
            counts["subject_access_reports"] += 1
    searches = sum(by_cat.values())
    policy = load_policy(g.settings.policy_file)
    st = g.settings
    return {
        "title": "Fortify transparency report",
        "period": {"label": period.label, "start": lo[:10], "end_exclusive": hi[:10]},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "searches": {
            "total": searches,
            "by_purpose_category": dict(by_cat.most_common()),
            "by_channel": dict(by_channel.most_common()),
            "with_candidates": decisions.get("candidates", 0),
            "no_candidate": decisions.get("no_candidate", 0),
            "candidate_rate": round(decisions.get("candidates", 0) / searches, 4)
            if searches
            else None,
        },
        "refusals_by_reason": dict(refusals.most_common()),
        "failed_captures_by_reason": dict(failures.most_common()),
        "confirmed_matches": counts["confirmed_matches"],
        "disputes_and_corrections": dict(disputes),
        "approvals": dict(approvals),
        "deletions": {
            "records_deleted": counts["records_deleted"],
            "opt_outs": counts["opt_outs"],
            "probes_deleted_at_once_non_subjects": dict(rapid),
            "probes_purged_at_retention_deadline": counts["probes_purged_at_retention_deadline"],
        },
        "oversight": {
            "exports_of_search_history": counts["exports_of_search_history"],
            "subject_access_reports": counts["subject_access_reports"],
        },
        "accuracy": _accuracy(find_eval(g, eval_path)),
        "settings": {
            "probe_retention_hours": st.probe_retention_hours,
            "keep_enrollment_images": st.keep_enrollment_images,
            "target_fpir": st.target_fpir,
            "fixed_threshold": st.match_threshold,
            "gallery_identities": identities,
        },
        "policy": {
            "version": policy.version,
            "title": policy.title,
            "digest": policy.digest,
            "searches_per_hour": policy.searches_per_hour,
            "categories": [
                {
                    "id": c.id,
                    "label": c.label,
                    "requires_case_id": c.requires_case_id,
                    "requires_approval": c.requires_approval,
                }
                for c in policy.categories.values()
            ],
            "prohibited": [p.label for p in policy.prohibited],
        },
        "audit_chain": {
            "ok": chain.ok,
            "entries": chain.entries,
            "head_seq": chain.head_seq,
            "head_hash": chain.head_hash,
        },
    }
