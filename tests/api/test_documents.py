from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fortify.gallery import Gallery
from fortify.service import create_app
from fortify.store.tables import AuditEvent, Encounter, Identity
from tests.api.conftest import auth
from tests.conftest import add_user, blank_image

DOCS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "documents").resolve()
TD3 = DOCS / "specimens-passporteye" / "passport-td3.jpg"


@pytest.fixture
def doc_client(gallery: Gallery) -> Iterator[tuple[TestClient, Gallery, str]]:
    token = add_user(gallery, "officer1", "officer")
    with gallery.write() as s:
        src = gallery.source(s, "test")
        s.add(
            Identity(
                source_id=src.id,
                reference="SYN-1",
                display_name="Anna Maria Eriksson",
                synthetic=True,
                attributes={"name": "Anna María Eriksson", "birth_date": "1974-08-12"},
            )
        )
        s.add(
            Identity(
                source_id=src.id,
                reference="SYN-2",
                synthetic=True,
                attributes={
                    "document_number": "L898902C3",
                    "name": "Someone Else",
                    "birth_date": "1980-01-01",
                },
            )
        )
    with TestClient(create_app(gallery.settings, gallery)) as c:
        yield c, gallery, token


def _count(g: Gallery, table: type) -> int:
    with g.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def _actions(g: Gallery) -> list[str]:
    with g.db.session() as s:
        return [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def _post(c: TestClient, token: str | None, image: bytes, **form: str):  # type: ignore[no-untyped-def]
    return c.post(
        "/v1/documents",
        headers=auth(token) if token else {},
        files={"image": ("d.jpg", image, "image/jpeg")},
        data=form,
    )


def test_scan_reads_checks_and_finds_leads(doc_client: tuple[TestClient, Gallery, str]) -> None:
    if not TD3.exists():
        pytest.skip(f"evaluation data not found at {DOCS}")
    c, g, token = doc_client
    r = _post(c, token, TD3.read_bytes(), purpose="border check", case_id="K-1")
    assert r.status_code == 200, r.text
    body = r.json()
    doc = body["document"]
    assert doc["valid"] and doc["format"] == "TD3" and doc["fields"]["surname"] == "ERIKSSON"
    assert all(ch["ok"] for ch in doc["checks"].values())
    assert "expired" in body["flags"] and "record_mismatch" in body["flags"]
    how = {lead["reference"]: lead["matched_by"] for lead in body["leads"]}
    assert how == {"SYN-1": ["name_and_birth_date"], "SYN-2": ["document_number"]}
    assert _count(g, Encounter) == 1 and "document.scan" in _actions(g)
    again = c.get(f"/v1/documents/{body['search_id']}", headers=auth(token))
    assert again.status_code == 200 and again.json()["leads"] == body["leads"]


def test_purpose_and_operator_required(doc_client: tuple[TestClient, Gallery, str]) -> None:
    c, g, token = doc_client
    assert _post(c, None, blank_image(), purpose="x").status_code == 401
    r = _post(c, token, blank_image(), purpose=" ")
    assert r.status_code == 422 and r.json()["error"]["code"] == "purpose_required"
    assert _count(g, Encounter) == 0 and "document.refused" in _actions(g)


def test_no_document_stores_only_the_failed_attempt(
    doc_client: tuple[TestClient, Gallery, str],
) -> None:
    c, g, token = doc_client
    r = _post(c, token, blank_image(), purpose="border check")
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_document"
    assert _count(g, Encounter) == 0 and _actions(g)[-1] == "document.failed"


def test_portrait_compared_with_the_live_face(doc_client: tuple[TestClient, Gallery, str]) -> None:
    if not TD3.exists():
        pytest.skip(f"evaluation data not found at {DOCS}")
    c, _, token = doc_client
    r = c.post(
        "/v1/documents",
        headers=auth(token),
        data={"purpose": "border check"},
        files={
            "image": ("d.jpg", TD3.read_bytes(), "image/jpeg"),
            "face": ("f.jpg", TD3.read_bytes(), "image/jpeg"),
        },
    )
    assert r.status_code == 200, r.text
    p = r.json()["portrait"]
    assert p["compared"] and p["score"] > 0.99 and p["target_fmr"] == 1e-3
    assert p["decision"] == "holder_matches_portrait"


def test_retention_purges_document_data(doc_client: tuple[TestClient, Gallery, str]) -> None:
    if not TD3.exists():
        pytest.skip(f"evaluation data not found at {DOCS}")
    from datetime import timedelta

    from fortify.store.tables import utcnow

    c, g, token = doc_client
    sid = _post(c, token, TD3.read_bytes(), purpose="border check").json()["search_id"]
    with g.write() as s:
        enc = s.get(Encounter, sid)
        assert enc is not None
        enc.retain_until = utcnow() - timedelta(hours=1)
    assert g.purge_expired() == 1
    with g.db.session() as s:
        enc = s.get(Encounter, sid)
        assert enc is not None and enc.result["document"] == {"purged": True}
        assert enc.result["leads"] == []
