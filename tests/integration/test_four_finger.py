"""A four-finger slap searched as four finger captures of one encounter (API and gallery)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from fortify.accountability.operators import Operator, local_operator
from fortify.gallery import Gallery
from fortify.service import create_app
from fortify.store.tables import AuditEvent, Encounter, EncounterCapture
from tests.conftest import add_user, blank_image, make_settings, side_by_side, train

DB1 = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fingerprints").resolve()
DB1 = DB1 / "fvc2002" / "DB1_B"
HAND = (("101", "right-index"), ("102", "right-middle"), ("103", "right-ring"))
HAND += (("104", "right-little"),)
pytestmark = pytest.mark.slow


@pytest.fixture
def slap_gallery(
    tmp_path: Path, admin: Operator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gallery]:
    if not DB1.is_dir():
        pytest.skip(f"fingerprint data not found at {DB1}")
    monkeypatch.setenv("FORTIFY_FINGER_MATCH_THRESHOLD", "0.03")
    g = Gallery(make_settings(tmp_path / "home"))
    train(g, admin.name)
    for f, pos in HAND:  # one person's right hand, impression 1
        g.enroll_image(
            DB1 / f"{f}_1.png",
            reference="hand",
            operator=admin,
            modality="finger",
            finger_position=pos,
        )
    g.enroll_image(  # someone else's right index
        DB1 / "105_1.png",
        reference="other",
        operator=admin,
        modality="finger",
        finger_position="right-index",
    )
    yield g
    g.close()


def _slap() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(side_by_side([DB1 / f"{f}_2.png" for f, _ in HAND])).save(buf, "PNG")
    return buf.getvalue()


def test_slap_search_is_four_captures_of_one_encounter(slap_gallery: Gallery) -> None:
    token = add_user(slap_gallery, "officer-s", "officer")
    with TestClient(create_app(slap_gallery.settings, slap_gallery)) as c:
        h = {"Authorization": f"Bearer {token}"}
        r = c.post(
            "/v1/searches",
            headers=h,
            files={"image": ("slap.png", _slap(), "image/png")},
            data={
                "purpose": "API slap test",
                "modality": "finger",
                "finger_position": "right-four",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["captures"] == 4 and body["candidates"][0]["reference"] == "hand"
        per = body["consistency"]["per_capture"]
        assert [p["finger_position"] for p in per] == [2, 3, 4, 5]
        assert body["consistency"]["agree"], body["consistency"]
        assert sum(p["top_identity_id"] == body["candidates"][0]["identity_id"] for p in per) >= 3
        assert body["probe"]["quality"]["slap"]["fingers_found"] == 4
        before = _rows(slap_gallery)
        r = c.post(
            "/v1/searches",
            headers=h,
            files={"image": ("b.jpg", blank_image(), "image/jpeg")},
            data={"purpose": "API slap test", "modality": "finger", "finger_position": "13"},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_finger", r.text
        assert _rows(slap_gallery) == before  # nothing stored
    with slap_gallery.db.session() as s:
        caps = s.scalars(
            select(EncounterCapture.finger_position).where(
                EncounterCapture.encounter_id == body["search_id"]
            )
        ).all()
        failed = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "search.failed")
        )
    assert sorted(c or 0 for c in caps) == [2, 3, 4, 5] and failed == 1
    assert slap_gallery.verify_audit(operator=local_operator()).ok


def _rows(g: Gallery) -> tuple[int, int]:
    with g.db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Encounter)) or 0),
            int(s.scalar(select(func.count()).select_from(EncounterCapture)) or 0),
        )
