"""Gallery on real photos: search, refusals, deletion, index rebuild, restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.errors import (
    Forbidden,
    InvalidImage,
    MultipleFaces,
    NoFaceFound,
    NotFound,
    OptedOut,
    PurposeRequired,
)
from fortify.gallery import Gallery
from fortify.store.tables import AuditEvent, Encounter, TemplateRow
from tests.conftest import blank_image, make_settings, two_faces

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _counts(g: Gallery) -> tuple[int, int]:
    with g.db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(TemplateRow)) or 0),
            int(s.scalar(select(func.count()).select_from(Encounter)) or 0),
        )


def test_search_finds_mate_at_rank_one(enrolled: Gallery, people: People, admin: Operator) -> None:
    hits = 0
    for ref, files in people[:8]:
        r = enrolled.identify(files[1], operator=admin, purpose="test: mated search")
        assert r["decision"] in ("candidates", "no_candidate")
        if r["candidates"] and r["candidates"][0]["reference"] == ref:
            hits += 1
    assert hits >= 7


def test_refusals_store_nothing(
    enrolled: Gallery, people: People, admin: Operator, tmp_path: Path
) -> None:
    before = _counts(enrolled)
    probe = people[0][1][1]
    with pytest.raises(PurposeRequired):
        enrolled.identify(probe, operator=admin, purpose="")
    with pytest.raises(NoFaceFound):
        enrolled.identify(blank_image(), operator=admin, purpose="test: no face")
    with pytest.raises(MultipleFaces):
        enrolled.identify(
            two_faces(people[0][1][1], people[1][1][1]), operator=admin, purpose="test: two"
        )
    with pytest.raises(InvalidImage):
        enrolled.identify(b"GIF89a garbage", operator=admin, purpose="test: bad file")
    with pytest.raises(Forbidden):
        enrolled.identify(probe, operator=Operator("aud", "auditor"), purpose="test: role")
    assert _counts(enrolled) == before
    with enrolled.db.session() as s:  # every refusal is itself audited
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-4:] == ["search.refused", "search.failed", "search.failed", "search.failed"]
    assert enrolled.verify_audit(operator=admin).ok


def test_choose_largest_of_several_faces(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    r = enrolled.identify(
        two_faces(people[2][1][1], people[3][1][1]),
        operator=admin,
        purpose="test: pick",
        face="largest",
    )
    assert r["probe"]["faces_found"] == 2


def test_delete_identity_never_returned(enrolled: Gallery, people: People, admin: Operator) -> None:
    ref, files = people[4]
    r = enrolled.identify(files[1], operator=admin, purpose="test: before delete")
    assert r["candidates"][0]["reference"] == ref
    iid = r["candidates"][0]["identity_id"]
    enrolled.delete_identity(iid, operator=admin, reason="test")
    r2 = enrolled.identify(files[1], operator=admin, purpose="test: after delete")
    assert ref not in [c["reference"] for c in r2["candidates"]]
    with pytest.raises(NotFound):
        enrolled.get_identity(iid, operator=admin)
    with pytest.raises(NotFound):
        enrolled.delete_identity("no-such-id", operator=admin, reason="test")


def test_opt_out_deletes_and_blocks(enrolled: Gallery, people: People, admin: Operator) -> None:
    ref, files = people[5]
    assert enrolled.opt_out(ref, operator=admin, source="test", reason="subject asked")
    with pytest.raises(OptedOut):
        enrolled.enroll_image(files[1], reference=ref, operator=admin, source="test")
    r = enrolled.identify(files[1], operator=admin, purpose="test: opted out")
    assert ref not in [c["reference"] for c in r["candidates"]]


def test_several_images_per_identity_most_recent_photo(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    ref, files = people[6]
    iid = enrolled.list_identities(operator=admin, reference=ref)["items"][0]["identity_id"]
    added = enrolled.add_sample(iid, files[2], operator=admin, face="largest")
    r = enrolled.identify(files[1], operator=admin, purpose="test: multi-sample")
    top = r["candidates"][0]
    assert top["reference"] == ref and top["samples_compared"] == 2
    assert top["photo_sample_id"] == added.sample_id


def test_index_rebuilt_after_files_deleted_and_restart_keeps_all(
    enrolled: Gallery, people: People, admin: Operator, engine
) -> None:  # type: ignore[no-untyped-def]
    ref, files = people[7]
    enrolled.identify(files[1], operator=admin, purpose="test: before restart")
    n = enrolled.index.ntotal
    enrolled.close()
    for p in enrolled.settings.index_dir.iterdir():
        p.unlink()
    g2 = Gallery(make_settings(enrolled.settings.home), engine=engine)
    report = g2.open_index()
    assert report.action == "rebuilt" and g2.index.ntotal == n
    r = g2.identify(files[1], operator=admin, purpose="test: after restart")
    assert r["candidates"][0]["reference"] == ref
    assert len(g2.list_searches(operator=admin)) == 2
    g2.close()
    g3 = Gallery(make_settings(enrolled.settings.home), engine=engine)
    assert g3.open_index().action == "loaded"
    assert g3.verify_audit(operator=admin).ok
    g3.close()


def test_index_catches_up_with_writes_from_another_process(
    enrolled: Gallery, people: People, admin: Operator, engine
) -> None:  # type: ignore[no-untyped-def]
    other = Gallery(make_settings(enrolled.settings.home), engine=engine)
    ref, files = celeb = people[9]
    iid = enrolled.list_identities(operator=admin, reference=ref)["items"][0]["identity_id"]
    other.delete_identity(iid, operator=admin, reason="test")  # first gallery's index: stale
    r = enrolled.identify(files[1], operator=admin, purpose="test: stale index")
    assert ref not in [c["reference"] for c in r["candidates"]]
    other.close()
    del celeb


def test_stale_index_on_disk_caught_up_at_start(
    enrolled: Gallery, people: People, admin: Operator, engine
) -> None:  # type: ignore[no-untyped-def]
    enrolled.index.save()
    before = enrolled.index.ntotal
    ref, files = people[10]
    enrolled.enroll_image(files[1], reference="late-" + ref, operator=admin, face="largest")
    enrolled.db.dispose()  # "crash": the in-memory index is never saved
    g2 = Gallery(make_settings(enrolled.settings.home), engine=engine)
    rep = g2.open_index()
    assert rep.action == "caught_up" and g2.index.ntotal == before + 1
    g2.close()
