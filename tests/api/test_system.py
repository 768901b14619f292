from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth

pytestmark = pytest.mark.slow


def test_health_me_models(client: TestClient, tokens: dict[str, str]) -> None:
    h = client.get("/v1/health").json()
    assert h["status"] == "ok" and h["templates"] == 20
    me = client.get("/v1/me", headers=auth(tokens["officer"])).json()
    assert me["name"] == "officer1" and me["role"] == "officer" and "search" in me["permissions"]
    assert client.get("/v1/me").status_code == 401
    m = client.get("/v1/models", headers=auth(tokens["officer"])).json()
    assert m["face"]["dim"] == 512 and m["face"]["model_id"] == "edgeface-s-v2"
    assert m["face"]["configured_model"] == "edgeface-s-v2"
    assert m["face"]["retemplate_pending"] is False and m["face"]["index_caveat"] is None


def test_capture_page_and_docs(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'id="purpose"' in r.text
    assert client.get("/static/app.js").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/v1/searches",
        "/v1/identities",
        "/v1/identities/{identity_id}",
        "/v1/audit/verify",
    } <= paths
    ops = {op["operationId"] for p in spec["paths"].values() for op in p.values()}
    assert "searches-create" in ops and "identities-delete" in ops


def test_audit_roles(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/v1/audit/verify", headers=auth(tokens["auditor"]))
    assert r.status_code == 200 and r.json()["ok"] is True
    assert client.get("/v1/audit/verify", headers=auth(tokens["officer"])).status_code == 403
    ev = client.get("/v1/audit/events", headers=auth(tokens["auditor"]), params={"limit": 5}).json()
    assert len(ev["items"]) == 5 and ev["items"][0]["seq"] == 1
