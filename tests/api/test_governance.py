"""Governance routes: policy, training status, approvals, outcome (rapid deletion),
disputes, the auditor's list of reasoned actions, and the search form's new fields."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from fortify.gallery import Gallery
from tests.api.conftest import auth
from tests.conftest import add_user

People = list[tuple[str, list[Path]]]


def _search(client: TestClient, token: str, photo: Path, **data: str) -> dict:  # type: ignore[type-arg]
    r = client.post(
        "/v1/searches",
        headers=auth(token),
        files={"image": ("p.jpg", photo.read_bytes(), "image/jpeg")},
        data={"face": "largest", **data},
    )
    return {"status": r.status_code, **r.json()}


def test_policy_and_training_status(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery, people: People
) -> None:
    p = client.get("/v1/policy", headers=auth(tokens["officer"])).json()
    assert p["digest"] and any(c["requires_approval"] for c in p["categories"])
    me = client.get("/v1/training/me", headers=auth(tokens["officer"])).json()
    assert me["valid"] is True and me["operator"] == "officer1"
    raw = add_user(enrolled, "rookie", "officer", trained=False)
    assert client.get("/v1/training/me", headers=auth(raw)).json()["valid"] is False
    r = _search(client, raw, people[0][1][1], purpose="stop")
    assert r["status"] == 403 and r["error"]["code"] == "training_required"
    r = _search(client, tokens["officer"], people[0][1][1], purpose="film the protest")
    assert r["status"] == 403 and r["error"]["code"] == "purpose_prohibited"
    r = _search(client, tokens["officer"], people[0][1][1], purpose="x", category="nope")
    assert r["status"] == 422


def test_approval_flow_over_http(
    client: TestClient, tokens: dict[str, str], people: People
) -> None:
    off, sup = auth(tokens["officer"]), auth(tokens["supervisor"])
    body = {"category": "intelligence-lead", "purpose": "lead 9", "case_id": "I-9"}
    a = client.post("/v1/approvals", headers=off, json=body)
    assert a.status_code == 201, a.text
    aid = a.json()["approval_id"]
    assert client.post(f"/v1/approvals/{aid}/approve", headers=off, json={}).status_code == 403
    pending = client.get("/v1/approvals", headers=sup, params={"status": "pending"}).json()
    assert [x["approval_id"] for x in pending] == [aid]
    ok = client.post(f"/v1/approvals/{aid}/approve", headers=sup, json={"note": "fine"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    r = _search(
        client,
        tokens["officer"],
        people[1][1][1],
        purpose="lead 9",
        case_id="I-9",
        category="intelligence-lead",
    )
    assert r["status"] == 403 and r["error"]["code"] == "approval_required"
    r = _search(
        client,
        tokens["officer"],
        people[1][1][1],
        purpose="lead 9",
        case_id="I-9",
        category="intelligence-lead",
        approval_id=aid,
    )
    assert r["status"] == 200 and r["purpose_category"] == "intelligence-lead"
    b = client.post("/v1/approvals", headers=off, json={**body, "category": "missing-person"})
    assert b.status_code == 422


def test_outcome_deletes_at_once_and_disputes_show_on_cards(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery, people: People
) -> None:
    off, sup, aud = (auth(tokens[k]) for k in ("officer", "supervisor", "auditor"))
    r = _search(client, tokens["officer"], people[2][1][1], purpose="stop")
    sid = r["search_id"]
    assert r["candidates"][0]["disputes"] == []
    iid = r["candidates"][0]["identity_id"]
    d = client.post(
        f"/v1/identities/{iid}/disputes",
        headers=sup,
        json={"kind": "correction", "text": "Name is misspelt"},
    )
    assert d.status_code == 201
    assert (
        client.post(
            f"/v1/identities/{iid}/disputes", headers=off, json={"text": "x y z"}
        ).status_code
        == 403
    )
    bad = client.post(f"/v1/searches/{sid}/outcome", headers=off, json={"outcome": "arrest"})
    assert bad.status_code == 422
    done = client.post(
        f"/v1/searches/{sid}/outcome", headers=off, json={"outcome": "verified_citizen"}
    )
    assert done.status_code == 200 and done.json()["deleted"] is True
    assert client.get(f"/v1/searches/{sid}", headers=off).status_code == 404
    r2 = _search(client, tokens["officer"], people[2][1][1], purpose="stop again")
    card = next(c for c in r2["candidates"] if c["identity_id"] == iid)
    assert card["disputes"][0]["text"] == "Name is misspelt"
    assert client.delete(f"/v1/identities/{iid}", headers=sup).json()["error"]["code"] == (
        "reason_required"
    )
    assert (
        client.delete(
            f"/v1/identities/{iid}", headers=sup, params={"reason": "retention review"}
        ).status_code
        == 200
    )
    assert client.get("/v1/oversight/governance", headers=off).status_code == 403
    items = client.get("/v1/oversight/governance", headers=aud).json()["items"]
    actions = {i["action"]: i for i in items}
    assert actions["identity.delete"]["details"]["reason"] == "retention review"
    assert actions["search.rapid_delete"]["details"] == {
        "outcome": "verified_citizen",
        "captures": 1,
    }
    assert "dispute.record" in actions
