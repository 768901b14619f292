"""Row digests: each audit entry carries a digest of the rows it wrote; ``--deep`` re-checks.

The hash chain proves the audit log is intact; these digests extend that to the
identity, sample and encounter tables. An entry's ``details.rows`` maps
``"identity:<id>"``, ``"sample:<id>"`` or ``"encounter:<id>"`` to the SHA-256 of
the row's meaningful columns as written (``null`` when the entry deleted it).
:func:`deep_verify` replays the chain and compares the newest digest of every
row with the row as it is now: an edited row, a row inserted behind Fortify's
back or one deleted without an audit entry is named.
Housekeeping columns (file paths, retention times, timestamps) are left out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.accountability.audit import canonical_json
from fortify.store.tables import AuditEvent, Encounter, Identity, Sample

MAX_PROBLEMS = 50


def _digest(kind: str, values: list[Any]) -> str:
    return hashlib.sha256(canonical_json([kind, *values]).encode("utf-8")).hexdigest()


def identity_digest(i: Identity) -> str:
    return _digest(
        "identity",
        [i.id, i.source_id, i.reference, i.display_name, bool(i.synthetic), i.attributes or {}],
    )


def sample_digest(sm: Sample) -> str:
    return _digest("sample", [sm.id, sm.identity_id, sm.image_sha256])


def encounter_digest(e: Encounter) -> str:
    return _digest(
        "encounter",
        [
            e.id,
            e.operator,
            e.purpose,
            e.case_id,
            e.channel,
            e.decision,
            float(e.threshold),
            e.model_id,
            e.result or {},
            e.confirmed_identity_id,
        ],
    )


@dataclass
class DeepReport:
    ok: bool
    rows_checked: int = 0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows_checked": self.rows_checked, "problems": self.problems}


def recorded_digests(session: Session) -> dict[str, str | None]:
    """The newest recorded digest of every row key, replaying the chain in order."""
    latest: dict[str, str | None] = {}
    q = select(AuditEvent.details).where(AuditEvent.details.contains('"rows"'))
    for details in session.scalars(q.order_by(AuditEvent.seq)).yield_per(2000):
        try:
            rows = json.loads(details).get("rows")
        except ValueError:
            continue
        if isinstance(rows, dict):
            latest.update(rows)
    return latest


def deep_verify(session: Session) -> DeepReport:
    latest = recorded_digests(session)
    report = DeepReport(ok=True)
    seen: set[str] = set()

    def check(key: str, digest: str) -> None:
        report.rows_checked += 1
        seen.add(key)
        if key not in latest:
            report.problems.append(f"{key} has no audit entry (written outside Fortify?)")
        elif latest[key] is None:
            report.problems.append(f"{key} exists but its audit entry deleted it")
        elif latest[key] != digest:
            report.problems.append(f"{key} differs from its audit entry (edited?)")

    for i in session.scalars(select(Identity)).yield_per(2000):
        check(f"identity:{i.id}", identity_digest(i))
    for sm in session.scalars(select(Sample)).yield_per(2000):
        check(f"sample:{sm.id}", sample_digest(sm))
    for e in session.scalars(select(Encounter)).yield_per(2000):
        check(f"encounter:{e.id}", encounter_digest(e))
    for key, digest in latest.items():
        if digest is not None and key not in seen:
            report.problems.append(f"{key} was deleted without an audit entry")
    report.ok = not report.problems
    report.problems = report.problems[:MAX_PROBLEMS]
    return report
