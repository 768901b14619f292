"""Retention 0, WAL/index scrubbing, deep audit, file modes (issue 8, items 4, 6, 10)."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text, update

from fortify.accountability.operators import Operator
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from fortify.store.tables import Encounter, EncounterCapture, Identity, TemplateRow, utcnow
from fortify.templates.codec import decode
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _captures(g: Gallery, sid: str) -> list[EncounterCapture]:
    with g.db.session() as s:
        return list(s.scalars(select(EncounterCapture).where(EncounterCapture.encounter_id == sid)))


def test_retention_zero_keeps_no_probe_photo_or_template(
    tmp_path: Path, enrolled_home: Path, engine: Engine, people: People, admin: Operator
) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(enrolled_home, home)
    g = Gallery(make_settings(home, probe_retention_hours=0), engine=engine)
    try:
        r = g.identify(people[1][1][1], operator=admin, purpose="test: retention 0")
        caps = _captures(g, r["search_id"])
        assert caps and all(c.template is None and c.probe_path is None for c in caps)
        assert not list((g.settings.media_dir / "probes").glob("*"))
        with g.db.session() as s:
            enc = s.get(Encounter, r["search_id"])
            assert enc is not None and enc.retain_until is not None  # never "forever"
    finally:
        g.close()


def test_overdue_templates_purged_and_legacy_forever_rows_too(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    a = enrolled.identify(people[1][1][1], operator=admin, purpose="test: due")
    b = enrolled.identify(people[2][1][1], operator=admin, purpose="test: legacy null")
    c = enrolled.identify(people[3][1][1], operator=admin, purpose="test: not due")
    with enrolled.db.transaction() as s:
        s.execute(
            update(Encounter)
            .where(Encounter.id == a["search_id"])
            .values(retain_until=utcnow() - timedelta(hours=1))
        )
        s.execute(update(Encounter).where(Encounter.id == b["search_id"]).values(retain_until=None))
    assert enrolled.purge_expired() == 2
    for sid in (a["search_id"], b["search_id"]):
        assert all(x.template is None and x.probe_path is None for x in _captures(enrolled, sid))
    assert all(x.template is not None for x in _captures(enrolled, c["search_id"]))


def _needle(data: bytes) -> bytes:
    return np.asarray(decode(data).vector, np.float32).tobytes()[16:80]


def _files_with(home: Path, needle: bytes) -> list[str]:
    hits = []
    for f in [home / "fortify.db", home / "fortify.db-wal", *sorted((home / "index").glob("*"))]:
        if f.is_file() and needle in f.read_bytes():
            hits.append(f.name)
    return hits


def test_deleted_template_bytes_gone_from_db_wal_and_index_after_purge_run(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    ref = people[8][0]
    with enrolled.db.session() as s:
        ident = s.scalars(select(Identity).where(Identity.reference == ref)).one()
        iid = ident.id
        data = s.scalars(select(TemplateRow.data).where(TemplateRow.identity_id == iid)).one()
    enrolled.index.save()
    needle = _needle(data)
    assert _files_with(enrolled.settings.home, needle)  # it is there before
    enrolled.delete_identity(iid, operator=admin, reason="test")
    enrolled.purge_expired()  # the purge run checkpoints the WAL and saves the index
    assert _files_with(enrolled.settings.home, needle) == []
    with enrolled.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1


def test_deep_verify_catches_edited_inserted_and_deleted_rows(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    r = enrolled.identify(people[1][1][1], operator=admin, purpose="test: deep", case_id="D-1")
    assert enrolled.verify_audit(operator=admin, deep=True).ok
    with enrolled.db.transaction() as s:  # rewrite the stored result of a search
        s.execute(update(Encounter).where(Encounter.id == r["search_id"]).values(case_id="D-2"))
    rep = enrolled.verify_audit(operator=admin, deep=True)
    assert not rep.ok and f"encounter:{r['search_id']} differs" in rep.reason
    assert enrolled.verify_audit(operator=admin).ok  # the chain itself is intact
    with enrolled.db.transaction() as s:
        s.execute(update(Encounter).where(Encounter.id == r["search_id"]).values(case_id="D-1"))
        s.execute(
            update(Identity).where(Identity.reference == people[2][0]).values(display_name="X")
        )
    rep = enrolled.verify_audit(operator=admin, deep=True)
    assert not rep.ok and "identity:" in rep.reason and "differs" in rep.reason


def test_deep_verify_catches_unaudited_delete(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    r = enrolled.identify(people[1][1][1], operator=admin, purpose="test: deep delete")
    with enrolled.db.transaction() as s:
        s.execute(
            text("DELETE FROM encounter_captures WHERE encounter_id = :i"), {"i": r["search_id"]}
        )
        s.execute(text("DELETE FROM encounters WHERE id = :i"), {"i": r["search_id"]})
    rep = enrolled.verify_audit(operator=admin, deep=True)
    assert not rep.ok and "deleted without an audit entry" in rep.reason


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_private_modes_whatever_the_umask(
    tmp_path: Path, engine: Engine, people: People, admin: Operator
) -> None:
    old = os.umask(0o022)
    try:
        g = Gallery(make_settings(tmp_path / "home"), engine=engine)
        try:
            train(g, admin.name)
            res = g.enroll_image(people[0][1][0], reference="p", operator=admin, face="largest")
            g.identify(people[0][1][1], operator=admin, purpose="test: modes")
            g.open_index()
            g.index.save()
            home = g.settings.home
            assert _mode(home) == 0o700
            for d in (home / "media", home / "media" / "samples", home / "index"):
                assert _mode(d) == 0o700, d
            files = [home / "fortify.db", home / "audit.anchor", home / "fortify.db-wal"]
            files += list((home / "index").glob("*"))
            files += list((home / "media").rglob("*.jpg"))
            assert any(res.sample_id in f.name for f in files)
            for f in files:
                assert _mode(f) == 0o600, f
        finally:
            g.close()
    finally:
        os.umask(old)


def test_wide_modes_warned_at_start_up(
    tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    Gallery(make_settings(home), engine=engine).close()
    os.chmod(home, 0o755)
    os.chmod(home / "fortify.db", 0o644)
    with caplog.at_level(logging.WARNING, logger="fortify.store.files"):
        Gallery(make_settings(home), engine=engine).close()
    msgs = [r.getMessage() for r in caplog.records]
    assert any("home is mode 0755" in m for m in msgs)
    assert any("fortify.db is mode 0644" in m for m in msgs)
