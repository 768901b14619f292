from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.conftest import blank_image

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def test_create_list_get_add_delete(
    client: TestClient, tokens: dict[str, str], people: People
) -> None:
    sup = auth(tokens["supervisor"])
    ref, files = people[15]
    r = client.post(
        "/v1/identities",
        headers=sup,
        files={"image": ("a.jpg", files[2].read_bytes(), "image/jpeg")},
        data={
            "reference": "new-" + ref,
            "source": "api",
            "display_name": "Synthetic X",
            "synthetic": "true",
            "face": "largest",
        },
    )
    assert r.status_code == 201, r.text
    iid = r.json()["identity_id"]
    assert r.json()["created_identity"] is True
    r = client.post(
        f"/v1/identities/{iid}/samples",
        headers=sup,
        files={"image": ("b.jpg", files[3].read_bytes(), "image/jpeg")},
        data={"face": "largest"},
    )
    assert r.status_code == 201, r.text
    got = client.get(f"/v1/identities/{iid}", headers=sup).json()
    assert got["reference"] == "new-" + ref and len(got["samples"]) == 2 and got["synthetic"]
    listing = client.get("/v1/identities", headers=sup, params={"source": "api"}).json()
    assert listing["total"] == 1 and listing["items"][0]["identity_id"] == iid
    assert client.get("/v1/identities", headers=sup).json()["total"] == 21
    r = client.delete(f"/v1/identities/{iid}", headers=sup, params={"reason": "test"})
    assert r.status_code == 200 and r.json()["deleted_templates"] == 2
    assert client.get(f"/v1/identities/{iid}", headers=sup).status_code == 404
    r = client.post(
        "/v1/searches",
        headers=auth(tokens["officer"]),
        files={"image": ("p.jpg", files[2].read_bytes(), "image/jpeg")},
        data={"purpose": "after delete", "face": "largest"},
    )
    assert "new-" + ref not in [c["reference"] for c in r.json()["candidates"]]


def test_officer_cannot_enroll_or_delete(
    client: TestClient, tokens: dict[str, str], people: People
) -> None:
    off = auth(tokens["officer"])
    r = client.post(
        "/v1/identities",
        headers=off,
        files={"image": ("a.jpg", people[0][1][1].read_bytes(), "image/jpeg")},
        data={"reference": "x"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    iid = client.get("/v1/identities", headers=off).json()["items"][0]["identity_id"]
    why = {"reason": "test"}
    assert client.delete(f"/v1/identities/{iid}", headers=off, params=why).status_code == 403


def test_enroll_refusals(client: TestClient, tokens: dict[str, str]) -> None:
    sup = auth(tokens["supervisor"])
    r = client.post(
        "/v1/identities",
        headers=sup,
        files={"image": ("a.jpg", blank_image(), "image/jpeg")},
        data={"reference": "x"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_face"
    r = client.post("/v1/identities", headers=sup, data={"reference": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "image_required"
    assert client.get("/v1/identities/unknown", headers=sup).status_code == 404
    gone = client.delete("/v1/identities/unknown", headers=sup, params={"reason": "test"})
    assert gone.status_code == 404
    r = client.post(
        "/v1/identities/unknown/samples",
        headers=sup,
        files={"image": ("a.jpg", blank_image(), "image/jpeg")},
    )
    assert r.status_code == 404
