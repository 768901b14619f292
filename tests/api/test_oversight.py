"""History, CSV export, oversight summary, chain status, live quality, PWA root files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from fortify.gallery import Gallery
from fortify.imaging import load_image
from fortify.store.tables import AuditEvent, AuditHead, Encounter, new_id
from tests.api.conftest import auth
from tests.conftest import blank_image, two_faces

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _encounter(
    g: Gallery,
    operator: str,
    purpose: str,
    *,
    days_ago: int = 0,
    decision: str = "candidates",
    case_id: str | None = None,
    probe: Path | None = None,
) -> str:
    """A past search row (test data; the audit chain is not involved)."""
    sid = new_id()
    cands = [{"reference": "r1", "score": 0.97}] if decision == "candidates" else []
    now = datetime.now(UTC)
    with g.db.transaction() as s:
        s.add(
            Encounter(
                id=sid,
                operator=operator,
                purpose=purpose,
                case_id=case_id,
                channel="api",
                created_at=now - timedelta(days=days_ago, minutes=1),
                decision=decision,
                threshold=0.85,
                model_id="dlib-resnet-v1",
                result={"search_id": sid, "candidates": cands},
                probe_path=str(probe.relative_to(g.settings.home)) if probe else None,
                retain_until=now - timedelta(hours=1) if probe else None,
            )
        )
    return sid


def _audit_head(g: Gallery) -> int:
    with g.db.session() as s:
        return int(s.scalar(select(AuditHead.seq)) or 0)


def _events(g: Gallery, action: str) -> list[AuditEvent]:
    with g.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _history(client: TestClient, token: str, **params: Any) -> Any:
    r = client.get("/v1/history", headers=auth(token), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_history_scopes_and_filters(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery
) -> None:
    _encounter(enrolled, "officer1", "own search", days_ago=0, case_id="K-1")
    _encounter(enrolled, "officer1", "older own", days_ago=5, decision="no_candidate")
    _encounter(enrolled, "other", "someone else's", days_ago=1, case_id="K-1")
    own = _history(client, tokens["officer"], operator="other")
    assert own["scope"] == "own" and own["total"] == 2
    assert {i["operator"] for i in own["items"]} == {"officer1"}
    assert own["items"][0]["purpose"] == "own search"  # newest first
    everyone = _history(client, tokens["supervisor"])
    assert everyone["scope"] == "all" and everyone["total"] == 3
    assert _history(client, tokens["auditor"], operator="other")["total"] == 1
    assert _history(client, tokens["supervisor"], case_id="K-1")["total"] == 2
    none = _history(client, tokens["supervisor"], decision="no_candidate")
    assert [i["purpose"] for i in none["items"]] == ["older own"]
    assert none["items"][0]["candidates"] == 0 and none["items"][0]["top_score"] is None
    today = datetime.now(UTC).date()
    recent = _history(client, tokens["supervisor"], since=str(today - timedelta(days=2)))
    assert recent["total"] == 2
    old = _history(client, tokens["supervisor"], until=str(today - timedelta(days=2)))
    assert [i["purpose"] for i in old["items"]] == ["older own"]
    page = _history(client, tokens["supervisor"], limit=1, offset=1)
    assert page["total"] == 3 and len(page["items"]) == 1
    bads = [
        {"decision": "maybe"},
        {"since": "yesterday"},
        {"since": "2024-05-02", "until": "2024-05-01"},
    ]
    for bad in bads:
        r = client.get("/v1/history", headers=auth(tokens["supervisor"]), params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", bad
    assert client.get("/v1/history").status_code == 401


def test_export_csv_is_filtered_safe_and_audited(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery
) -> None:
    _encounter(enrolled, "officer1", '=HYPERLINK("http://x")', case_id="C-9")
    _encounter(enrolled, "officer1", "plain, with comma", case_id="C-9", decision="no_candidate")
    _encounter(enrolled, "other", "not exported", case_id="C-1")
    r = client.get(
        "/v1/oversight/export.csv",
        headers=auth(tokens["supervisor"]),
        params={"case_id": "C-9", "reason": "audit request 7"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2 and {x["case_id"] for x in rows} == {"C-9"}
    purposes = {x["purpose"] for x in rows}
    assert "plain, with comma" in purposes
    assert '\'=HYPERLINK("http://x")' in purposes  # never a live formula in a spreadsheet
    ev = _events(enrolled, "searches.export")
    assert len(ev) == 1 and ev[0].actor == "supervisor1"
    details = json.loads(ev[0].details)
    assert details["rows"] == 2 and details["case_id"] == "C-9"
    no_reason = client.get("/v1/oversight/export.csv", headers=auth(tokens["auditor"]))
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["code"] == "reason_required"
    by_auditor = client.get(
        "/v1/oversight/export.csv", headers=auth(tokens["auditor"]), params={"reason": "review"}
    )
    assert by_auditor.status_code == 200
    denied = client.get("/v1/oversight/export.csv", headers=auth(tokens["officer"]))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert len(_events(enrolled, "searches.export")) == 2  # the refusal exports nothing


def test_summary_counts_days_operators_purposes_and_purges(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery
) -> None:
    probe = enrolled.settings.media_dir / "probes" / "old.jpg"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_bytes(b"jpeg")
    _encounter(enrolled, "ana", "Robbery  12 May", days_ago=0)
    _encounter(enrolled, "ana", "robbery 12 may", days_ago=0, decision="no_candidate")
    _encounter(enrolled, "ben", "Missing person", days_ago=2, probe=probe)
    _encounter(enrolled, "ben", "too old to count", days_ago=40)
    assert enrolled.purge_expired() == 1 and not probe.exists()
    r = client.get("/v1/oversight/summary", headers=auth(tokens["auditor"]), params={"days": 7})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["days"] == 7 and len(s["per_day"]) == 7
    assert s["searches"] == 3 and s["no_candidate"] == 1
    assert s["no_candidate_share"] == pytest.approx(1 / 3, abs=1e-3)
    today = datetime.now(UTC).date()
    by_day = {d["date"]: d for d in s["per_day"]}
    assert by_day[str(today)] == {"date": str(today), "searches": 2, "no_candidate": 1}
    assert by_day[str(today - timedelta(days=2))]["searches"] == 1
    assert s["per_operator"][0] == {"operator": "ana", "searches": 2, "no_candidate": 1}
    assert s["purposes"][0]["count"] == 2  # same purpose, different case and spacing
    assert s["purges"] == [{"date": str(today), "purged": 1}] and s["purged_total"] == 1
    assert s["audit"]["ok"] is True and s["audit"]["first_bad_seq"] is None
    assert len(_events(enrolled, "oversight.summary")) == 1
    assert client.get("/v1/oversight/summary", headers=auth(tokens["admin"])).status_code == 200
    for role in ("officer", "supervisor"):
        denied = client.get("/v1/oversight/summary", headers=auth(tokens[role]))
        assert denied.status_code == 403, role
    bad = client.get("/v1/oversight/summary", headers=auth(tokens["auditor"]), params={"days": 0})
    assert bad.status_code == 422


def test_summary_and_chain_report_tampering_without_extending_the_log(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery
) -> None:
    ok = client.get("/v1/oversight/chain", headers=auth(tokens["supervisor"]))
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert client.get("/v1/oversight/chain", headers=auth(tokens["officer"])).status_code == 403
    with enrolled.db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details='{"x":1}'))
    head = _audit_head(enrolled)
    s1 = client.get("/v1/oversight/summary", headers=auth(tokens["auditor"])).json()
    assert s1["audit"]["ok"] is False and s1["audit"]["first_bad_seq"] == 2
    chain = client.get("/v1/oversight/chain", headers=auth(tokens["auditor"])).json()
    assert chain["ok"] is False and chain["first_bad_seq"] == 2 and chain["reason"]
    assert _audit_head(enrolled) == head


def test_quality_check_guides_without_storing(
    client: TestClient, tokens: dict[str, str], enrolled: Gallery, people: People
) -> None:
    def check(token: str | None, image: bytes, ctype: str = "image/jpeg") -> Any:
        return client.post(
            "/v1/quality",
            headers=auth(token) if token else {},
            files={"image": ("f.jpg", image, ctype)},
        )

    with enrolled.db.session() as s:
        searches = s.scalar(select(func.count()).select_from(Encounter))
    head = _audit_head(enrolled)
    good = check(tokens["officer"], people[0][1][1].read_bytes())
    assert good.status_code == 200, good.text
    q = good.json()
    assert q["faces"] == 1 and len(q["boxes"]) == 1 and len(q["boxes"][0]) == 4
    assert q["width"] > 0 and q["height"] > 0 and q["quality"]["face_px"] > 0
    assert q["ready"] is (not q["warnings"])
    blank = check(tokens["supervisor"], blank_image()).json()
    assert blank["faces"] == 0 and blank["warnings"] == ["no_face"] and blank["ready"] is False
    group = two_faces(people[1][1][0], people[2][1][0])
    many = check(tokens["officer"], group).json()
    assert many["faces"] == 2 and "multiple_faces" in many["warnings"]
    # the phone held sideways: a box is found, but its crop is no usable face
    sideways = np.ascontiguousarray(np.rot90(load_image(people[0][1][1]), 1))
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(sideways, cv2.COLOR_RGB2BGR))[1].tobytes()
    side = check(tokens["officer"], jpeg).json()
    assert side["faces"] == 1 and side["warnings"] == ["face_unrecognizable"]
    assert side["ready"] is False
    assert check(tokens["auditor"], blank_image()).status_code == 403
    assert check(None, blank_image()).status_code == 401
    bad = check(tokens["officer"], b"not an image")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_image"
    with enrolled.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Encounter)) == searches
    # a preview check is not a search: only the two refusals (403, 401) are audited
    assert _audit_head(enrolled) == head + 2
    denied = _events(enrolled, "auth.denied")
    assert {json.loads(e.details)["status"] for e in denied} == {401, 403}


def test_pwa_root_files_are_served(client: TestClient) -> None:
    sw = client.get("/sw.js")
    assert sw.status_code == 200, "create_app must mount fortify.service.routes.pwa.router"
    assert "javascript" in sw.headers["content-type"]
    assert sw.headers["service-worker-allowed"] == "/"
    assert "/v1/" not in sw.text.split("const SHELL")[1].split("];")[0]  # API never cached
    m = client.get("/manifest.webmanifest")
    assert m.status_code == 200 and m.headers["content-type"].startswith("application/manifest")
    manifest = m.json()
    assert manifest["start_url"].startswith("/") and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    index = client.get("/").text
    assert 'rel="manifest"' in index and 'type="module"' in index
    shell = {
        name.strip().strip('"')
        for name in sw.text.split("const SHELL = [")[1].split("];")[0].split(",")
        if name.strip()
    }
    for path in shell:
        assert client.get(path).status_code == 200, path
    static = Path(__file__).resolve().parents[2] / "src" / "fortify" / "capture" / "static"
    modules = {f"/static/{p.name}" for p in static.glob("*.js") if p.name != "sw.js"}
    assert modules <= shell, f"not cached for offline use: {sorted(modules - shell)}"
