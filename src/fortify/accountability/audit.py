"""Append-only, hash-chained audit log.

Each entry stores ``prev_hash`` (the hash of the entry before it) and
``hash = sha256(prev_hash | seq | ts | actor | action | target | details)``.
Editing, deleting or reordering any entry breaks the chain from that entry on;
:func:`verify` names the first bad one. Appends take the head row's write lock
first (``UPDATE audit_head``), so concurrent writers serialise on SQLite and
PostgreSQL alike, and an entry commits in the same transaction as the change
it records. An anchor file outside the database (head seq + hash) also catches
truncation of the newest entries.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fortify.accountability import anchor as _anchor
from fortify.store.tables import AuditEvent, AuditHead

log = logging.getLogger(__name__)

GENESIS = "0" * 64


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str, seq: int, ts: str, actor: str, action: str, target: str, details: str
) -> str:
    payload = "\x1f".join([prev_hash, str(seq), ts, actor, action, target, details])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def lock_head(session: Session) -> None:
    """Take the chain head's write lock for the rest of the transaction.

    Every mutating transaction calls this first, so change-log sequence numbers
    and audit entries commit in one global order (PostgreSQL sequences alone
    could commit out of order).
    """
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one entry inside the caller's transaction and return it."""
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    ).scalar_one()
    ts = datetime.now(UTC).isoformat(timespec="microseconds")
    body = canonical_json(details or {})
    h = entry_hash(head.hash, head.seq, ts, actor, action, target, body)
    event = AuditEvent(
        seq=head.seq,
        ts=ts,
        actor=actor,
        action=action,
        target=target,
        details=body,
        prev_hash=head.hash,
        hash=h,
    )
    session.add(event)
    head.hash = h
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def _head(session: Session) -> tuple[int, str] | None:
    """The chain head as committed now (a fresh read, not the session's cached row)."""
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return (int(row[0]), str(row[1])) if row is not None else None


def verify(session: Session, anchor: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the whole chain; stop at the first entry that does not hold.

    The head is read before the entries: an append commits its entry and the head
    together, so every entry up to a head read first exists when the entries are read
    after it, and an honest append made while the chain is being walked (a concurrent
    request) is never mistaken for deleted entries. Entries beyond that head must be
    covered by the head read again at the end, or they were inserted behind its back.
    """
    head = _head(session)
    prev = GENESIS
    expected = 1
    n = 0
    at_head = ""  # the hash of the entry the first head read names
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    anchor_seen = anchor is None or anchor[0] == 0
    for ev in rows.yield_per(2000):
        n += 1
        problem = ""
        if ev.seq != expected:
            problem = f"entry {expected} is missing (next entry is {ev.seq})"
        elif ev.prev_hash != prev:
            problem = f"entry {ev.seq} does not follow entry {ev.seq - 1} (reordered?)"
        elif entry_hash(prev, ev.seq, ev.ts, ev.actor, ev.action, ev.target, ev.details) != ev.hash:
            problem = f"entry {ev.seq} was altered (hash mismatch)"
        elif anchor is not None and ev.seq == anchor[0]:
            if ev.hash != anchor[1]:
                problem = f"entry {ev.seq} differs from the anchor"
            anchor_seen = True
        if problem:
            bad_seq = expected if ev.seq != expected else ev.seq
            return VerifyReport(False, n, bad_seq, prev, first_bad_seq=bad_seq, reason=problem)
        prev = ev.hash
        if head is not None and ev.seq == head[0]:
            at_head = ev.hash
        expected += 1
    last = expected - 1
    if not anchor_seen and anchor is not None:
        return VerifyReport(
            False,
            n,
            last,
            prev,
            first_bad_seq=last + 1,
            reason=f"entries after {last} were deleted (anchor is at {anchor[0]})",
        )
    if head is None:
        return VerifyReport(True, n, last, prev)
    reason = ""
    if last < head[0]:
        reason = f"chain ends at {last} but its head says {head[0]} (entries deleted?)"
    elif head[0] > 0 and at_head != head[1]:
        reason = f"entry {head[0]} differs from the chain head (rewritten?)"
    elif last > head[0]:  # appended while the chain was read: the head must have moved on
        now = _head(session)
        if now is None or now[0] < last or (now[0] == last and now[1] != prev):
            reason = f"entries after {head[0]} are not covered by the chain head (inserted?)"
    if reason:
        return VerifyReport(False, n, last, prev, first_bad_seq=min(last, head[0]) + 1,
                            reason=reason)  # fmt: skip
    return VerifyReport(True, n, last, prev)


def write_anchor(path: Path, seq: int, hash_: str) -> None:
    """Record the newest known head outside the database (see :mod:`.anchor`)."""
    _anchor.write_anchor(path, seq, hash_)


def read_anchor(path: Path) -> tuple[int, str] | None:
    return _anchor.read_anchor(path)


def verify_anchored(session: Session, named: list[tuple[str, Path]]) -> VerifyReport:
    """Verify against every anchor; a missing anchor on a non-empty chain is a failure.

    Anchors are read before the chain: the chain only grows, so an anchor read
    first is never ahead of an honest chain read after it.
    """
    read = [(name, path, read_anchor(path)) for name, path in named]
    report: VerifyReport | None = None
    for name, _path, a in read:
        if a is None:
            continue
        r = verify(session, a)
        if not r.ok:
            return VerifyReport(
                False, r.entries, r.head_seq, r.head_hash, r.first_bad_seq, f"{name}: {r.reason}"
            )
        report = r
    if report is None:
        report = verify(session)
        if not report.ok:
            return report
    for name, path, a in read:
        if a is None and report.entries:
            return VerifyReport(
                False,
                report.entries,
                report.head_seq,
                report.head_hash,
                first_bad_seq=report.head_seq,
                reason=f"the {name} audit anchor {path} is missing or unreadable "
                "(deleted or rewritten?)",
            )
    return report
