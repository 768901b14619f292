"""Calibrated decisions and multi-capture encounters on real photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from fortify.accountability.operators import Operator
from fortify.errors import NotFound
from fortify.gallery import Gallery
from fortify.gallery.ranking import DIFFERENT, DISAGREE
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def test_candidates_carry_fpr_estimates(enrolled: Gallery, people: People, admin: Operator) -> None:
    r = enrolled.identify(people[3][1][1], operator=admin, purpose="test: fpr estimate")
    c = r["candidates"][0]
    assert 0 < c["estimated_fpir"] <= 1
    scores = [x["score"] for x in r["candidates"]]
    fprs = [x["estimated_fpir"] for x in r["candidates"]]
    assert scores == sorted(scores, reverse=True) and fprs == sorted(fprs)


def test_calibrated_threshold_by_default(
    enrolled_home: Path,
    tmp_path: Path,
    engine,
    people: People,
    admin: Operator,  # type: ignore[no-untyped-def]
) -> None:
    import shutil

    home = tmp_path / "h"
    shutil.copytree(enrolled_home, home)
    g = Gallery(make_settings(home, match_threshold=None, target_fpir=0.01), engine=engine)
    r = g.identify(people[3][1][1], operator=admin, purpose="test: calibrated")
    assert r["threshold_source"] == "calibrated" and r["target_fpir"] == 0.01
    assert r["calibration_basis"] == "per_probe"  # a small gallery: each probe's own rate
    assert 0.3 < r["threshold"] < 0.6  # EdgeFace cosines (0.41 at FPIR 0.01, 99 ids)
    assert all(c["score"] >= r["threshold"] for c in r["candidates"])
    g.close()


def test_second_capture_same_person_agrees(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    ref, files = people[2]
    r = enrolled.identify(files[1], operator=admin, purpose="test: two captures")
    assert r["captures"] == 1 and r["consistency"]["agree"]
    r2 = enrolled.add_capture(r["search_id"], files[2], operator=admin, face="largest")
    assert r2["search_id"] == r["search_id"] and r2["captures"] == 2
    assert r2["candidates"][0]["reference"] == ref
    assert r2["consistency"]["agree"] is True and r2["consistency"]["warning"] is None
    assert enrolled.get_search(r["search_id"], operator=admin)["captures"] == 2


def test_captures_of_two_people_are_flagged(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    r = enrolled.identify(people[2][1][1], operator=admin, purpose="test: disagreement")
    r2 = enrolled.add_capture(r["search_id"], people[8][1][1], operator=admin, face="largest")
    assert r2["consistency"]["agree"] is False
    assert r2["consistency"]["warning"] in (DISAGREE, DIFFERENT)
    rows = enrolled.list_searches(operator=admin)
    assert rows[0]["captures"] == 2 and rows[0]["agree"] is False


def test_capture_only_on_own_search(enrolled: Gallery, people: People, admin: Operator) -> None:
    r = enrolled.identify(people[2][1][1], operator=admin, purpose="test: ownership")
    train(enrolled, "other")  # trained, so the refusal is about ownership
    with pytest.raises(NotFound):
        enrolled.add_capture(r["search_id"], people[2][1][2], operator=Operator("other", "officer"))
    with pytest.raises(NotFound):
        enrolled.add_capture("nope", people[2][1][2], operator=admin)


def test_retention_purges_probe_images(
    enrolled_home: Path,
    tmp_path: Path,
    engine,
    people: People,
    admin: Operator,  # type: ignore[no-untyped-def]
) -> None:
    import shutil

    home = tmp_path / "h"
    shutil.copytree(enrolled_home, home)
    g = Gallery(make_settings(home, probe_retention_hours=0.0000001), engine=engine)
    r = g.identify(people[1][1][1], operator=admin, purpose="test: retention")
    probes = list((home / "media" / "probes").glob(f"{r['search_id']}*"))
    assert probes
    assert g.purge_expired() == 1
    assert not any(p.exists() for p in probes)
    assert g.list_searches(operator=admin)[0]["probe_retained"] is False
    assert g.verify_audit(operator=admin).ok
    g.close()
