"""Super Query against the real sample services: HTTP, RabbitMQ and PostgreSQL.

Skips (only) when RabbitMQ or PostgreSQL is not running on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fortify.accountability.operators import Operator, local_operator
from fortify.config import Settings
from fortify.federation.records import QueryKeys
from fortify.federation.samples.launcher import (
    SampleServices,
    amqp_available,
    postgres_available,
)
from fortify.gallery import Gallery
from fortify.store.tables import AuditEvent, RecordQuery, utcnow
from tests.conftest import train

OFFICER = Operator("ana", "officer")
ASK = {"operator": OFFICER, "purpose": "robbery 12 May", "purpose_code": "C", "case_id": "C-1"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleServices]:
    if not amqp_available():
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    work = tmp_path_factory.mktemp("federation")
    svc = SampleServices(
        work,
        slow={"immigration": 0.4},
        db_name="fortify_test_federation",
        queue=f"fortify.test.state.{os.getpid()}",
    )
    with svc:
        yield svc


@pytest.fixture
def gallery(services: SampleServices, tmp_path: Path) -> Iterator[Gallery]:
    cfg = services.write_config(tmp_path / "federation.toml", deadline_ms=3000)
    g = Gallery(Settings(home=tmp_path / "home", federation_config=cfg))
    train(g, OFFICER.name, local_operator().name)
    yield g
    g.close()


def test_super_query_over_three_transports(gallery: Gallery, services: SampleServices) -> None:
    assert services.warrants_db and services.warrants_db.startswith("postgresql")
    r = gallery.super_query(QueryKeys(reference="SYN-REF-0001"), **ASK)
    got = {a["source"]: a for a in r["answers"]}
    assert {s: a["status"] for s, a in got.items()} == {
        "warrants": "hit", "state-records": "hit", "immigration": "hit",
    }  # fmt: skip
    assert got["state-records"]["transport"] == "amqp"
    assert r["not_queried"] == [{"source": "vehicle-register", "reason": "not for purpose code C"}]
    [g] = r["groups"]
    assert g["sources"] == ["immigration", "state-records", "warrants"]
    assert {c["field"] for c in g["conflicts"]} == {"dob", "status"}
    for rec in g["records"]:
        assert rec["synthetic"] and rec["provenance"]["query_id"] == r["id"]

    none = gallery.super_query(QueryKeys(reference="SYN-REF-0002"), **{**ASK, "purpose_code": "T"})
    assert {a["status"] for a in none["answers"]} == {"not_on_file"}
    assert "vehicle-register" in {a["source"] for a in none["answers"]}  # traffic: SQL source
    plate = gallery.super_query(QueryKeys(plate="SYN0001"), **{**ASK, "purpose_code": "T"})
    [veh] = [a for a in plate["answers"] if a["source"] == "vehicle-register"]
    assert veh["status"] == "hit" and veh["records"][0]["data"]["flags"] == "reported stolen"


def test_every_outbound_query_is_audited_and_payloads_purged(gallery: Gallery) -> None:
    r = gallery.super_query(QueryKeys(reference="SYN-REF-0001"), **ASK)
    with gallery.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.target == f"query:{r['id']}")).all()
        row = s.get(RecordQuery, r["id"])
        assert row is not None and row.payload is not None
        row.retain_until = utcnow() - timedelta(seconds=1)
        s.commit()
    actions = [e.action for e in events]
    assert actions[0] == "query" and actions.count("query.answer") == 3
    answered = {json.loads(e.details)["source"]: json.loads(e.details) for e in events[1:]}
    assert answered["warrants"]["status"] == "hit" and answered["warrants"]["case_id"] == "C-1"
    gallery.purge_expired()
    with gallery.db.session() as s:
        row = s.get(RecordQuery, r["id"])
        assert row is not None and row.payload is None and row.summary["statuses"]
    assert gallery.verify_audit(operator=local_operator()).ok


def test_misbehaving_services_are_contained(tmp_path: Path) -> None:
    svc = SampleServices(
        tmp_path / "bad",
        extra_args={"immigration": ["--never"], "warrants": ["--malformed"],
                    "state-records": ["--fail-rate", "1"]},
        db_name="fortify_test_federation_bad",
        queue=f"fortify.test.bad.{os.getpid()}",
    )  # fmt: skip
    with svc:
        cfg = svc.write_config(tmp_path / "f.toml", deadline_ms=1000)
        g = Gallery(Settings(home=tmp_path / "home", federation_config=cfg))
        train(g, OFFICER.name, local_operator().name)
        t0 = time.perf_counter()
        r = g.super_query(QueryKeys(reference="SYN-REF-0001"), **ASK)
        assert time.perf_counter() - t0 < 1.5
        g.close()
    got = {a["source"]: a["status"] for a in r["answers"]}
    assert got == {
        "immigration": "timeout", "warrants": "error", "state-records": "temporarily_unavailable",
    }  # fmt: skip
    assert {n["source"] for n in r["not_answered"]} == set(got)


def test_services_die_with_their_parent(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from fortify.federation.samples.launcher import SampleServices\n"
        f"s = SampleServices(Path({str(tmp_path)!r}), db_name='fortify_test_federation_orphan')\n"
        "s.start()\n"
        "print(' '.join(str(x.proc.pid) for x in s.services), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 3
    os.kill(parent.pid, signal.SIGKILL)  # no chance to clean up
    parent.wait()
    deadline = time.time() + 5
    alive = pids
    while alive and time.time() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if _alive(p)]
    assert not alive, f"orphans: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead, just not yet reaped by init
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_sql_source_is_read_only_on_postgres(services: SampleServices) -> None:
    import asyncio

    from sqlalchemy import create_engine, text

    from fortify.federation.config import RecordMap, SourceConfig
    from fortify.federation.connectors import OutboundQuery
    from fortify.federation.transports import SqlConnector

    assert services.warrants_db
    sql = "WITH t AS (SELECT 1) DELETE FROM sample_vehicles WHERE ref = :reference RETURNING id"
    cfg = SourceConfig(
        name="w", transport="sql", url=services.warrants_db, accepts=["reference"],
        queries={"reference": sql}, map=[RecordMap(kind="vehicle", id="id")],
    )  # fmt: skip
    conn = SqlConnector(cfg, 65536)
    q = OutboundQuery("q", {"reference": "SYN-REF-0001"}, "ana", "robbery", "C", "C-1")
    a = asyncio.run(conn.query(q))
    conn.dispose()
    assert a.status == "error"
    eng = create_engine(services.warrants_db)
    with eng.connect() as c:
        n = c.execute(text("SELECT count(*) FROM sample_vehicles WHERE ref = 'SYN-REF-0001'"))
        assert n.scalar() == 1
    eng.dispose()
