"""Audit anchors: required, atomic across threads, never backwards, external (issue 8, item 6)."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from sqlalchemy import delete

from fortify.accountability import anchor, audit
from fortify.config import Settings
from fortify.store.db import Database
from fortify.store.tables import AuditEvent, AuditHead


def _chain(home: Path, n: int = 5, **settings: object) -> tuple[Database, Settings]:
    st = Settings(home=home, **settings)  # type: ignore[arg-type]
    db = Database(st)
    db.migrate()
    for i in range(n):
        with db.transaction() as s:
            audit.lock_head(s)
            ev = audit.append(s, actor="alice", action="search", target=f"s:{i}")
            seq, h = ev.seq, ev.hash
        anchor.anchor_head(st, home / "audit.anchor", seq, h)
    return db, st


def _verify(db: Database, st: Settings) -> audit.VerifyReport:
    with db.session() as s:
        return audit.verify_anchored(s, anchor.anchors(st, st.home / "audit.anchor"))


def test_missing_anchor_on_a_non_empty_chain_fails(tmp_path: Path) -> None:
    db, st = _chain(tmp_path / "h")
    assert _verify(db, st).ok
    (st.home / "audit.anchor").unlink()
    r = _verify(db, st)
    assert not r.ok and "missing" in r.reason


def test_empty_chain_needs_no_anchor(tmp_path: Path) -> None:
    db, st = _chain(tmp_path / "h", n=0)
    assert _verify(db, st).ok


def test_external_anchor_catches_truncation_with_rewritten_local_anchor(tmp_path: Path) -> None:
    ext = tmp_path / "other-device" / "fortify.anchor"
    db, st = _chain(tmp_path / "h", audit_anchor_external=ext)
    assert anchor.read_anchor(ext) == anchor.read_anchor(st.home / "audit.anchor")
    with db.transaction() as s:  # truncate the last two entries and fix the head...
        s.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
        prev = s.get(AuditEvent, 3)
        assert prev is not None
        head = s.get(AuditHead, 1)
        assert head is not None
        head.seq, head.hash = 3, prev.hash
    (st.home / "audit.anchor").write_text(f"3 {prev.hash}\n")  # ...and the local anchor
    r = _verify(db, st)
    assert not r.ok and r.reason.startswith("external:") and "deleted" in r.reason


def test_anchor_command_gets_the_head_on_stdin(tmp_path: Path) -> None:
    log = tmp_path / "worm.log"
    _, st = _chain(tmp_path / "h", n=3, audit_anchor_command=f"cat >> {log}")
    lines = log.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == ["1", "2", "3"]
    assert lines[-1] == "{} {}".format(*anchor.read_anchor(st.home / "audit.anchor") or ("", ""))


def test_anchor_writes_atomic_and_monotonic_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "audit.anchor"
    seqs = list(range(1, 801))
    random.Random(0).shuffle(seqs)
    chunks = [seqs[i::8] for i in range(8)]
    seen: list[int] = []
    bad: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            existed = path.exists()  # once there, it is only ever replaced atomically
            a = anchor.read_anchor(path)
            if a is None:
                if existed:
                    bad.append("torn read")
                continue
            if seen and a[0] < seen[-1]:
                bad.append(f"moved back {seen[-1]} -> {a[0]}")
            if a[1] != f"{a[0]:064x}":
                bad.append(f"mixed content {a}")
            seen.append(a[0])

    def writer(chunk: list[int]) -> None:
        for seq in chunk:
            anchor.write_anchor(path, seq, f"{seq:064x}")

    r = threading.Thread(target=reader)
    r.start()
    ws = [threading.Thread(target=writer, args=(c,)) for c in chunks]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    r.join()
    assert not bad, bad[:5]
    assert anchor.read_anchor(path) == (800, f"{800:064x}")
    assert (path.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob(".audit.anchor.*"))  # no temp file left behind
