"""POST /v1/identities/{id}/opt-out (supervisor or admin, audited, with a reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fortify.gallery import Gallery
from fortify.store.tables import AuditEvent
from tests.api.conftest import auth

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def test_opt_out_route(
    client: TestClient, enrolled: Gallery, tokens: dict[str, str], people: People
) -> None:
    ref, files = people[9]
    sup = auth(tokens["supervisor"])
    iid = client.get("/v1/identities", headers=sup, params={"reference": ref}).json()["items"][0][
        "identity_id"
    ]
    url = f"/v1/identities/{iid}/opt-out"
    for role in ("officer", "auditor"):
        r = client.post(url, headers=auth(tokens[role]), json={"reason": "person asked"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.post(url, headers=sup, json={}).status_code == 422
    assert client.post(url, headers=sup, json={"reason": "\u200b" * 4}).status_code == 422
    r = client.post(url, headers=sup, json={"reason": "person asked, letter 12"})
    assert r.status_code == 200, r.text
    assert r.json()["opted_out"] is True and r.json()["refusal_templates"] == 1
    assert client.get(f"/v1/identities/{iid}", headers=sup).status_code == 404
    assert client.post(url, headers=sup, json={"reason": "again"}).status_code == 404
    with enrolled.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "identity.opt_out")).one()
    assert ev.actor == "supervisor1" and json.loads(ev.details)["reason"].startswith("person")
    r = client.post(
        "/v1/identities",
        headers=sup,
        # the opted-out photo itself (at the small test threshold another photo of this
        # person may score under it with the fused model): refused by the face, not the name
        files={"image": ("a.jpg", files[0].read_bytes(), "image/jpeg")},
        data={"reference": "fresh-start", "source": "elsewhere"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "opted_out"


def test_invisible_or_control_purpose_refused_over_http(
    client: TestClient, tokens: dict[str, str], people: People
) -> None:
    photo = people[0][1][1].read_bytes()
    for purpose, code in (("\u200b" * 4, "purpose_required"), ("ok \u202e evil", "unsafe_text")):
        r = client.post(
            "/v1/searches",
            headers=auth(tokens["officer"]),
            files={"image": ("p.jpg", photo, "image/jpeg")},
            data={"purpose": purpose},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    r = client.post(
        "/v1/searches",
        headers=auth(tokens["officer"]),
        files={"image": ("p.jpg", photo, "image/jpeg")},
        data={"purpose": "theft inquiry", "case_id": "K\x00-1"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsafe_text"
