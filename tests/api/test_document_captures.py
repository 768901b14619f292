"""POST /v1/documents with ``search_id``: the scan is one more capture of that encounter."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fortify.gallery import Gallery
from fortify.gallery.rowdigest import deep_verify
from fortify.store.tables import AuditEvent, Encounter, EncounterCapture, Identity, utcnow
from tests.api.conftest import auth
from tests.conftest import add_user

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]
DOCS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "documents").resolve()
TD3 = DOCS / "specimens-passporteye" / "passport-td3.jpg"  # ERIKSSON, L898902C3, 1974-08-12


@pytest.fixture
def td3() -> bytes:
    if not TD3.exists():
        pytest.skip(f"evaluation data not found at {DOCS}")
    return TD3.read_bytes()


def _search(c: TestClient, token: str, image: bytes) -> dict:  # type: ignore[type-arg]
    r = c.post(
        "/v1/searches",
        headers=auth(token),
        files={"image": ("p.jpg", image, "image/jpeg")},
        data={"purpose": "border check", "case_id": "K-9"},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _scan(c: TestClient, token: str, image: bytes, **form: str):  # type: ignore[no-untyped-def]
    return c.post(
        "/v1/documents",
        headers=auth(token),
        files={"image": ("d.jpg", image, "image/jpeg")},
        data={"purpose": "border check", **form},
    )


def _captures(g: Gallery, sid: str) -> list[EncounterCapture]:
    with g.db.session() as s:
        return list(
            s.scalars(
                select(EncounterCapture)
                .where(EncounterCapture.encounter_id == sid)
                .order_by(EncounterCapture.seq)
            )
        )


def _last_event(g: Gallery) -> AuditEvent:
    with g.db.session() as s:
        e = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert e is not None
        return e


def _encounter_problems(g: Gallery) -> list[str]:
    """Encounter rows that no longer match their audited digest."""
    with g.db.session() as s:
        return [p for p in deep_verify(s).problems if "encounter:" in p]


def _set_holder(g: Gallery, reference: str) -> str:
    """Give an enrolled (synthetic test) record the specimen's document number."""
    with g.write() as s:
        ident = s.scalars(select(Identity).where(Identity.reference == reference)).one()
        ident.attributes = {**(ident.attributes or {}), "document_number": "L898902C3"}
        return ident.id


def test_document_joins_the_face_search_and_flags_disagreement(
    client: TestClient, enrolled: Gallery, people: People, td3: bytes
) -> None:
    token = add_user(enrolled, "officer1", "officer")
    search = _search(client, token, people[0][1][1].read_bytes())
    sid, top = search["search_id"], search["candidates"][0]
    assert top["reference"] == people[0][0]
    _set_holder(enrolled, people[1][0])  # the document points at someone else
    with enrolled.db.session() as s:
        n_enc = s.scalar(select(func.count()).select_from(Encounter))
    r = _scan(client, token, td3, search_id=sid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["search_id"] == sid and body["capture"] == 2 and body["document"]["valid"]
    assert [lead["reference"] for lead in body["leads"]] == [people[1][0]]
    assert body["portrait"]["compared"] and body["portrait"]["decision"] in (
        "holder_matches_portrait",
        "holder_does_not_match",
    )
    assert body["holder_agreement"]["agree"] is False
    p = body["portrait"]
    assert "live face photos" in p["calibration"] and p["measured_on_synthetic_cards"]
    assert p["threshold"] >= p["live_face_threshold"]
    assert "holder_differs_from_candidates" in body["flags"]
    with enrolled.db.session() as s:  # no second encounter
        assert s.scalar(select(func.count()).select_from(Encounter)) == n_enc
    caps = _captures(enrolled, sid)
    assert [c.modality for c in caps] == ["face", "document"]
    assert caps[1].template is None and caps[1].quality["fields"]["surname"] == "ERIKSSON"
    assert caps[1].top["leads"][0]["reference"] == people[1][0]
    event = _last_event(enrolled)
    assert event.action == "document.scan" and event.target == f"search:{sid}"
    # the face search's result carries the document section and the warning
    got = client.get(f"/v1/searches/{sid}", headers=auth(token)).json()
    doc = got["document"]
    assert doc["capture"] == 2 and doc["holder_agreement"]["by_modality"] == {"face": False}
    assert got["consistency"]["agree"] is False
    assert "document holder and the face candidates differ" in got["consistency"]["warning"]
    assert got["candidates"][0]["reference"] == people[0][0]  # the ranking is untouched
    # the scan can be read back as a document scan
    again = client.get(f"/v1/documents/{sid}", headers=auth(token)).json()
    assert again["document"]["fields"]["surname"] == "ERIKSSON"
    assert again["leads"] == body["leads"]
    # another face capture re-ranks the search and keeps (re-checks) the document section
    more = client.post(
        f"/v1/searches/{sid}/captures",
        headers=auth(token),
        files={"image": ("p.jpg", people[0][1][1].read_bytes(), "image/jpeg")},
    )
    assert more.status_code == 200, more.text
    assert more.json()["document"]["holder_agreement"]["agree"] is False
    assert more.json()["consistency"]["agree"] is False
    assert [c.modality for c in _captures(enrolled, sid)] == ["face", "document", "face"]
    assert _encounter_problems(enrolled) == []


def test_document_agreeing_with_the_top_candidate(
    client: TestClient, enrolled: Gallery, people: People, td3: bytes
) -> None:
    token = add_user(enrolled, "officer1", "officer")
    sid = _search(client, token, people[0][1][1].read_bytes())["search_id"]
    _set_holder(enrolled, people[0][0])
    body = _scan(client, token, td3, search_id=sid).json()
    assert body["holder_agreement"]["agree"] is True
    assert "holder_differs_from_candidates" not in body["flags"]
    got = client.get(f"/v1/searches/{sid}", headers=auth(token)).json()
    assert got["consistency"]["agree"] is True and got["document"]["leads"]
    # retention: the document capture is purged with the probes
    with enrolled.write() as s:
        enc = s.get(Encounter, sid)
        assert enc is not None
        enc.retain_until = utcnow() - timedelta(hours=1)
    enrolled.purge_expired()
    cap = _captures(enrolled, sid)[1]
    assert cap.quality == {"purged": True} and cap.top == {"purged": True}
    got = client.get(f"/v1/searches/{sid}", headers=auth(token)).json()
    assert got["document"] == {"purged": True}
    assert _encounter_problems(enrolled) == []
    assert client.get(f"/v1/documents/{sid}", headers=auth(token)).json()["document"] == {
        "purged": True
    }


def test_refusals_are_audited_and_add_nothing(
    client: TestClient, enrolled: Gallery, people: People, td3: bytes
) -> None:
    t1 = add_user(enrolled, "officer1", "officer")
    t2 = add_user(enrolled, "officer2", "officer")
    untrained = add_user(enrolled, "officer3", "officer", trained=False)
    sid = _search(client, t1, people[0][1][1].read_bytes())["search_id"]
    # someone else's search: not found (no hint that it exists), audited, nothing added
    r = _scan(client, t2, td3, search_id=sid)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    e = _last_event(enrolled)
    assert (e.action, e.actor, e.target) == ("document.failed", "officer2", f"search:{sid}")
    # an unknown search id
    r = _scan(client, t1, td3, search_id="nope")
    assert r.status_code == 404 and _last_event(enrolled).action == "document.failed"
    # no purpose / no training: the one door refuses before anything is read
    r = _scan(client, t1, td3, search_id=sid, purpose=" ")
    assert r.status_code == 422 and r.json()["error"]["code"] == "purpose_required"
    assert _last_event(enrolled).action == "document.refused"
    before = _last_event(enrolled).seq
    r = _scan(client, untrained, td3, search_id=sid)
    assert r.status_code == 403 and r.json()["error"]["code"] == "training_required"
    with enrolled.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
        assert any(e.action == "document.refused" and e.actor == "officer3" for e in events), [
            (e.action, e.actor) for e in events
        ]
    # a standalone document scan is no search to attach to
    doc_sid = _scan(client, t1, td3).json()["search_id"]
    r = _scan(client, t1, td3, search_id=doc_sid)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert [c.modality for c in _captures(enrolled, sid)] == ["face"]
    assert client.get(f"/v1/searches/{sid}", headers=auth(t1)).json()["document"] is None


def test_portrait_threshold_is_the_stricter() -> None:
    from fortify.gallery.portrait import PORTRAIT_THRESHOLDS, portrait_threshold

    card = PORTRAIT_THRESHOLDS["fused-dlib-sface-v1"]
    assert portrait_threshold("fused-dlib-sface-v1", card - 0.1) == (card, "synthetic_card_bench")
    assert portrait_threshold("fused-dlib-sface-v1", card + 0.1)[1] == "live_face_calibration"
    assert portrait_threshold("other-model", 0.5) == (0.5, "live_face_calibration")
