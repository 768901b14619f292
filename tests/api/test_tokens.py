"""Token expiry, disabled and revoked operators, and the audit of refusals and list reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fortify.gallery import Gallery
from fortify.service.denials import DenialLog
from fortify.store.tables import AuditEvent, User
from tests.api.conftest import auth


def _events(g: Gallery, action: str) -> list[dict[str, object]]:
    with g.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [{"entry_actor": e.actor} | json.loads(e.details) for e in rows]


def test_expired_token_is_refused_with_a_clear_code(
    client: TestClient, enrolled: Gallery, tokens: dict[str, str]
) -> None:
    assert client.get("/v1/me", headers=auth(tokens["officer"])).status_code == 200
    old = datetime.now(UTC) - timedelta(days=91)  # default lifetime: 90 days
    with enrolled.write() as s:
        s.execute(update(User).where(User.name == "officer1").values(token_issued_at=old))
    r = client.get("/v1/me", headers=auth(tokens["officer"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert "expired" in r.json()["error"]["message"]
    denied = _events(enrolled, "auth.denied")
    assert denied[-1]["code"] == "token_expired" and denied[-1]["entry_actor"] == "system:guard"
    assert denied[-1]["actor"] == "officer1"
    assert denied[-1]["status"] == 401 and "ftk_" not in json.dumps(denied)


def test_disabled_and_revoked_operators_are_refused(
    client: TestClient, enrolled: Gallery, tokens: dict[str, str]
) -> None:
    from fortify.accountability.operators import revoke_token, rotate_token, set_active

    with enrolled.write() as s:
        set_active(s, "officer1", False)
        revoke_token(s, "auditor1")
    r = client.get("/v1/me", headers=auth(tokens["officer"]))
    assert r.status_code == 401 and "disabled" in r.json()["error"]["message"]
    assert client.get("/v1/me", headers=auth(tokens["auditor"])).status_code == 401
    with enrolled.write() as s:
        set_active(s, "officer1", True)
        new = rotate_token(s, "auditor1")
    assert client.get("/v1/me", headers=auth(tokens["officer"])).status_code == 200
    assert client.get("/v1/me", headers=auth(new)).status_code == 200


def test_a_flood_of_bad_tokens_is_aggregated_in_the_audit(
    client: TestClient, enrolled: Gallery, tokens: dict[str, str]
) -> None:
    for i in range(60):
        client.get("/v1/me", headers=auth(f"ftk_guess{i}"))
    for _ in range(5):  # the officer may not read the audit: 403s are audited too
        assert client.get("/v1/audit/events", headers=auth(tokens["officer"])).status_code == 403
    denials: DenialLog = client.app.state.denials  # type: ignore[attr-defined]
    written = denials.flush()
    one_by_one = _events(enrolled, "auth.denied")
    assert len(one_by_one) == 2  # the first of each kind
    assert {(e["status"], e["code"]) for e in one_by_one} == {
        (401, "unauthorized"),
        (403, "forbidden"),
    }
    summary = _events(enrolled, "auth.denied_summary")
    assert written == len(summary) == 2
    counts = {(e["status"], e["actor"]): e["count"] for e in summary}
    assert counts == {(401, "anonymous"): 59, (403, "officer1"): 4}


def test_denial_log_is_bounded() -> None:
    class FakeGallery:
        def __init__(self) -> None:
            self.entries: list[tuple[str, dict[str, object]]] = []

        def record_now(self, op: object, action: str, target: str, **details: object) -> None:
            self.entries.append((action, details))

    g = FakeGallery()
    log = DenialLog(g, burst=5, max_keys=10)  # type: ignore[arg-type]
    for i in range(10_000):
        log.note(401, "unauthorized", "anonymous", f"10.0.{i // 256}.{i % 256}", "GET", "/v1/me")
    log.flush()
    assert len(g.entries) <= 5 + 10 + 1
    assert sum(int(d.get("count", 1)) for _, d in g.entries) == 10_000  # type: ignore[call-overload]


def test_list_reads_are_audited(
    client: TestClient, enrolled: Gallery, tokens: dict[str, str]
) -> None:
    h = auth(tokens["supervisor"])
    assert client.get("/v1/searches", headers=h, params={"case_id": "C-1"}).status_code == 200
    assert client.get("/v1/history", headers=h).status_code == 200
    listed = _events(enrolled, "searches.list")
    assert listed and listed[-1]["entry_actor"] == "supervisor1" and listed[-1]["case_id"] == "C-1"
    assert _events(enrolled, "searches.history")[-1]["entry_actor"] == "supervisor1"


BIG = str(2**63)


def test_huge_integers_are_refused_not_500(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["admin"])
    for path, param in (
        ("/v1/searches", "offset"),
        ("/v1/identities", "offset"),
        ("/v1/history", "offset"),
        ("/v1/audit/events", "after_seq"),
    ):
        for value in (BIG, str(2**64 + 1), "-1"):
            r = client.get(path, headers=h, params={param: value})
            assert r.status_code == 422, (path, value, r.status_code)
            assert r.json()["error"]["code"] == "invalid_input"


def test_openapi_states_the_real_rules(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    form = spec["components"]["schemas"]["Body_searches-create"]
    assert set(form["required"]) >= {"image", "purpose"}
    purpose = form["properties"]["purpose"]
    assert purpose["minLength"] == 3 and "visible" in purpose["description"]
    face = form["properties"]["face"]["anyOf"][0]
    assert "largest" in face["pattern"]
    params = {p["name"]: p for p in spec["paths"]["/v1/history"]["get"]["parameters"]}
    assert "pattern" in params["since"]["schema"]["anyOf"][0]
    assert params["offset"]["schema"]["maximum"] <= 2**63 - 1
