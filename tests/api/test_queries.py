"""``/v1/queries``: refusals before anything leaves (audited), roles, purposes, SSE stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fortify.federation.samples import common, data, immigration
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from fortify.service import create_app
from tests.api.conftest import auth
from tests.conftest import add_user, make_settings

ASK = {"reference": "SYN-REF-0001", "purpose": "robbery 12 May", "purpose_code": "C",
       "case_id": "C-7"}  # fmt: skip


@pytest.fixture
def urls() -> Iterator[dict[str, str]]:
    servers = []
    out = {}
    for name, kw in {"ok": {}, "never": {"never": True}}.items():
        srv = common.make_http_server(
            0, immigration.handler(data.load(None)), common.Behaviour(**kw), name
        )
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        out[name] = f"http://127.0.0.1:{srv.server_address[1]}/query"
    yield out
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def fed(
    tmp_path: Path, urls: dict[str, str], engine: Engine
) -> Iterator[tuple[TestClient, Gallery]]:
    cfg = tmp_path / "federation.toml"
    cfg.write_text(
        f"""
deadline_ms = 700
purpose_codes = {{ C = "Criminal justice", T = "Traffic" }}
[[sources]]
name = "border"
transport = "http"
url = "{urls["ok"]}"
[[sources]]
name = "supervisors-only"
transport = "http"
url = "{urls["ok"]}"
roles = ["supervisor", "admin"]
[[sources]]
name = "traffic"
transport = "http"
url = "{urls["ok"]}"
purpose_codes = ["T"]
[[sources]]
name = "never"
transport = "http"
url = "{urls["never"]}"
timeout_ms = 60000
"""
    )
    g = Gallery(make_settings(tmp_path / "home", federation_config=cfg), engine=engine)
    with TestClient(create_app(g.settings, g)) as c:
        yield c, g
    g.close()


def _tokens(g: Gallery) -> dict[str, str]:
    return {r: add_user(g, f"{r}1", r) for r in ("officer", "supervisor", "auditor")}


def _audit(c: TestClient, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = c.get(
        "/v1/audit/events", headers=auth(token), params={"limit": 1000}
    ).json()["items"]
    return items


def test_refused_before_anything_leaves_and_audited(fed: tuple[TestClient, Gallery]) -> None:
    c, g = fed
    admin = add_user(g, "admin1", "admin")
    t = _tokens(g)
    cases = [
        ({**ASK, "purpose": ""}, 422, "purpose_required"),
        ({**ASK, "purpose_code": None}, 422, "purpose_code_required"),
        ({**ASK, "purpose_code": "Z"}, 422, "purpose_code_required"),
        ({**ASK, "case_id": " "}, 422, "case_required"),
        ({k: v for k, v in ASK.items() if k != "reference"}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        r = c.post("/v1/queries", json=body, headers=auth(t["officer"]))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    r = c.post("/v1/queries", json=ASK, headers=auth(t["auditor"]))
    assert r.status_code == 403
    assert c.post("/v1/queries", json=ASK).status_code == 401
    refused = [e for e in _audit(c, admin) if e["action"] == "query.refused"]
    codes = [json.loads(e["details"])["code"] for e in refused]
    assert codes == [x[2] for x in cases] + ["forbidden"]
    assert not [e for e in _audit(c, admin) if e["action"] in ("query", "query.answer")]


def test_query_by_role_and_purpose_with_deadline(fed: tuple[TestClient, Gallery]) -> None:
    c, g = fed
    admin = add_user(g, "admin1", "admin")
    t = _tokens(g)
    r = c.post("/v1/queries", json=ASK, headers=auth(t["officer"]))
    assert r.status_code == 200, r.text
    res = r.json()
    assert {a["source"]: a["status"] for a in res["answers"]} == {
        "border": "hit", "never": "timeout"}  # fmt: skip
    assert res["elapsed_ms"] < 700 + 100
    assert res["not_answered"][0]["source"] == "never"
    assert {n["source"] for n in res["not_queried"]} == {"supervisors-only", "traffic"}
    sup = c.post("/v1/queries", json={**ASK, "purpose_code": "t"}, headers=auth(t["supervisor"]))
    assert {a["source"] for a in sup.json()["answers"]} == {
        "border", "supervisors-only", "traffic", "never"}  # fmt: skip
    src = c.get("/v1/queries/sources", headers=auth(t["officer"])).json()
    assert [s["name"] for s in src["sources"]] == ["border", "traffic", "never"]
    assert [p["code"] for p in src["purpose_codes"]] == ["C", "T"]
    events = [e for e in _audit(c, admin) if e["target"] == f"query:{res['id']}"]
    assert [e["action"] for e in events] == ["query", "query.answer", "query.answer"]
    assert json.loads(events[0]["details"])["purpose_code"] == "C"
    # the stored query: its operator and supervisors may read it, another officer may not
    assert c.get(f"/v1/queries/{res['id']}", headers=auth(t["officer"])).json()["retained"]
    other = add_user(g, "officer2", "officer")
    assert c.get(f"/v1/queries/{res['id']}", headers=auth(other)).status_code == 404


def test_answers_stream_as_server_sent_events(fed: tuple[TestClient, Gallery]) -> None:
    c, g = fed
    t = _tokens(g)
    headers = {**auth(t["officer"]), "Accept": "text/event-stream"}
    with c.stream("POST", "/v1/queries", json=ASK, headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1][6:]))
        for b in text.strip().split("\n\n")
    ]
    assert [e for e, _ in events] == ["query", "answer", "answer", "done"]
    assert events[1][1]["source"] == "border" and events[2][1]["status"] == "timeout"
    assert events[3][1]["groups"][0]["records"][0]["provenance"]["source"] == "border"
    bad = c.post("/v1/queries", json={**ASK, "case_id": None}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "case_required"
