from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fortify.gallery import Gallery
from fortify.store.tables import Encounter
from tests.api.conftest import auth
from tests.conftest import blank_image, two_faces

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _search(client: TestClient, token: str | None, image: bytes, **form: str):  # type: ignore[no-untyped-def]
    headers = auth(token) if token else {}
    return client.post(
        "/v1/searches",
        headers=headers,
        files={"image": ("p.jpg", image, "image/jpeg")},
        data=form,
    )


def _encounters(g: Gallery) -> int:
    with g.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Encounter)) or 0)


def test_search_returns_ranked_leads(
    client: TestClient, tokens: dict[str, str], people: People
) -> None:
    ref, files = people[2]
    r = _search(client, tokens["officer"], files[1].read_bytes(), purpose="API test", case_id="K-7")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "candidates" and "not an identification" in body["notice"]
    top = body["candidates"][0]
    assert top["reference"] == ref and top["rank"] == 1 and top["photo_url"]
    photo = client.get(top["photo_url"], headers=auth(tokens["officer"]))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert client.get(top["photo_url"]).status_code == 401
    again = client.get(f"/v1/searches/{body['search_id']}", headers=auth(tokens["officer"]))
    assert again.status_code == 200 and again.json()["search_id"] == body["search_id"]
    # another officer cannot read it; a supervisor can
    other = client.get(f"/v1/searches/{body['search_id']}", headers=auth(tokens["admin"]))
    assert other.status_code == 200
    listed = client.get("/v1/searches", headers=auth(tokens["officer"])).json()
    assert [x["search_id"] for x in listed] == [body["search_id"]]


@pytest.mark.parametrize(
    "case,status,code",
    [
        ("no_token", 401, "unauthorized"),
        ("bad_token", 401, "unauthorized"),
        ("no_purpose", 422, "purpose_required"),
        ("blank_purpose", 422, "purpose_required"),
        ("auditor", 403, "forbidden"),
        ("no_face", 422, "no_face"),
        ("two_faces", 422, "multiple_faces"),
        ("not_image", 422, "invalid_image"),
        ("truncated", 422, "invalid_image"),
        ("wrong_type", 422, "invalid_image"),
        ("bad_top_k", 422, "invalid_input"),
    ],
)
def test_search_refusals(
    client: TestClient,
    tokens: dict[str, str],
    people: People,
    enrolled: Gallery,
    case: str,
    status: int,
    code: str,
) -> None:
    good = people[1][1][1].read_bytes()
    before = _encounters(enrolled)
    tok: str | None = tokens["officer"]
    form = {"purpose": "refusal test"}
    image = good
    ctype = "image/jpeg"
    if case == "no_token":
        tok = None
    elif case == "bad_token":
        tok = "ftk_nope"
    elif case == "no_purpose":
        form = {}
    elif case == "blank_purpose":
        form = {"purpose": "   "}
    elif case == "auditor":
        tok = tokens["auditor"]
    elif case == "no_face":
        image = blank_image()
    elif case == "two_faces":
        image = two_faces(people[1][1][1], people[2][1][1])
    elif case == "not_image":
        image = b"%PDF-1.4 not an image"
    elif case == "truncated":
        image = good[: len(good) // 3]
    elif case == "wrong_type":
        ctype = "text/plain"
    elif case == "bad_top_k":
        form["top_k"] = "0"
    headers = auth(tok) if tok else {}
    r = client.post(
        "/v1/searches", headers=headers, files={"image": ("p.jpg", image, ctype)}, data=form
    )
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code and body["error"]["message"] and body["request_id"]
    assert _encounters(enrolled) == before


def test_oversized_upload_rejected(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery
) -> None:
    big = b"\xff\xd8" + b"\x00" * (enrolled.settings.max_upload_bytes + 10)
    r = _search(client, tokens["officer"], big, purpose="too big")
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_unknown_search_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/v1/searches/nope", headers=auth(tokens["officer"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_supervisor_confirms_a_candidate_and_the_probe_is_kept(
    client: TestClient, tokens: dict[str, str], people: People, enrolled: Gallery
) -> None:
    files = people[2][1]
    body = _search(client, tokens["officer"], files[1].read_bytes(), purpose="confirm test").json()
    sid, iid = body["search_id"], body["candidates"][0]["identity_id"]
    url = f"/v1/searches/{sid}/confirm"
    r = client.post(url, headers=auth(tokens["officer"]), json={"identity_id": iid})
    assert r.status_code == 403
    r = client.post(url, headers=auth(tokens["supervisor"]), json={"identity_id": "other"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = client.post(
        url, headers=auth(tokens["supervisor"]), json={"identity_id": iid, "note": "ok"}
    )
    assert r.status_code == 200 and r.json()["confirmed_identity_id"] == iid
    assert (
        client.post(
            "/v1/searches/nope/confirm",
            headers=auth(tokens["supervisor"]),
            json={"identity_id": iid},
        ).status_code
        == 404
    )
    with enrolled.db.session() as s:
        enc = s.get(Encounter, sid)
        assert enc is not None and enc.retain_until is None and enc.probe_path is not None
