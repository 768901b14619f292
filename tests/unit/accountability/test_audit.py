from __future__ import annotations

from sqlalchemy import select, update

from fortify.accountability import audit
from fortify.config import Settings
from fortify.store.db import Database
from fortify.store.tables import AuditEvent


def _db(tmp_path) -> Database:  # type: ignore[no-untyped-def]
    db = Database(Settings(home=tmp_path))
    db.migrate()
    with db.transaction() as s:
        for i in range(5):
            audit.append(s, actor="alice", action="search", target=f"search:{i}", details={"i": i})
    return db


def _verify(db: Database, anchor=None) -> audit.VerifyReport:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return audit.verify(s, anchor)


def test_intact_chain_verifies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _verify(_db(tmp_path))
    assert r.ok and r.entries == 5 and r.head_seq == 5


def test_edited_entry_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    r = _verify(db)
    assert not r.ok and r.first_bad_seq == 3 and "altered" in r.reason


def test_deleted_entry_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    with db.transaction() as s:
        s.delete(s.get(AuditEvent, 2))
    r = _verify(db)
    assert not r.ok and r.first_bad_seq == 2 and "missing" in r.reason


def test_reordered_entries_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    with db.transaction() as s:
        a, b = s.get(AuditEvent, 2), s.get(AuditEvent, 4)
        assert a is not None and b is not None
        fields = ("ts", "actor", "action", "target", "details", "prev_hash", "hash")
        va, vb = [getattr(a, f) for f in fields], [getattr(b, f) for f in fields]
        for f, x, y in zip(fields, va, vb, strict=True):
            setattr(a, f, y)
            setattr(b, f, x)
    r = _verify(db)
    assert not r.ok and r.first_bad_seq == 2


def test_truncated_tail_detected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    with db.session() as s:
        last = s.execute(select(AuditEvent).where(AuditEvent.seq == 5)).scalar_one()
        anchor = (last.seq, last.hash)
    with db.transaction() as s:
        s.delete(s.get(AuditEvent, 5))
    r = _verify(db)  # the head row still says 5
    assert not r.ok and r.first_bad_seq == 5
    r2 = _verify(db, anchor)
    assert not r2.ok


def test_anchor_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "anchor"
    audit.write_anchor(p, 3, "a" * 64)
    audit.write_anchor(p, 2, "b" * 64)  # older heads never overwrite newer ones
    assert audit.read_anchor(p) == (3, "a" * 64)
    assert audit.read_anchor(tmp_path / "missing") is None


def test_append_while_verifying_is_not_a_broken_chain(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A request appending while the chain is walked (the oversight page's own audited
    reads) once showed 'chain ends at 56 but its head says 57': the head is read first."""
    db = _db(tmp_path)
    real_head = audit._head
    calls = []

    def head_then_append(session):  # type: ignore[no-untyped-def]
        h = real_head(session)
        if not calls:  # the first head read, then another request commits an entry
            with db.transaction() as s:
                audit.append(s, actor="bob", action="search.view", target="search:x", details={})
        calls.append(h)
        return h

    monkeypatch.setattr(audit, "_head", head_then_append)
    r = _verify(db)
    assert r.ok, r.reason
    assert r.entries in (5, 6)


def test_entry_inserted_behind_the_head_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    with db.transaction() as s:
        last = s.get(AuditEvent, 5)
        forged = audit.entry_hash(last.hash, 6, last.ts, "mallory", "search", "", "{}")
        s.add(AuditEvent(seq=6, ts=last.ts, actor="mallory", action="search", target="",
                         details="{}", prev_hash=last.hash, hash=forged))  # fmt: skip
    r = _verify(db)
    assert not r.ok and "not covered by the chain head" in r.reason
