"""The read-only SQL source on SQLite (PostgreSQL: tests/integration/test_federation.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from fortify.federation.config import RecordMap, SourceConfig
from fortify.federation.transports import SqlConnector
from tests.unit.federation.conftest import outbound


def _source(db: Path, sql: str) -> SqlConnector:
    cfg = SourceConfig(
        name="veh", transport="sql", url=f"sqlite:///{db}", accepts=["reference", "plate"],
        queries={"reference": sql},
        map=[RecordMap(kind="vehicle", id="id", subject={"reference": "ref"},
                       fields={"plate": "plate", "year": "year"})],
    )  # fmt: skip
    return SqlConnector(cfg, 65536)


def test_parameterised_read_only_queries(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE v (id TEXT, ref TEXT, plate TEXT, year INT)")
        c.execute("INSERT INTO v VALUES ('V1', 'SYN-REF-0001', 'SYN0001', 2011)")
    ok = _source(db, "SELECT id, ref, plate, year FROM v WHERE ref = :reference")
    a = asyncio.run(ok.query(outbound()))
    assert a.status == "hit" and a.records[0].data == {"plate": "SYN0001", "year": 2011}
    injected = asyncio.run(ok.query(outbound({"reference": "x' OR '1'='1"})))
    assert injected.status == "not_on_file"  # a bound parameter, never SQL text
    writer = _source(db, "WITH t AS (SELECT 1) DELETE FROM v WHERE ref = :reference")
    w = asyncio.run(writer.query(outbound()))
    assert w.status == "error"
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM v").fetchone() == (1,)  # nothing written
    ok.dispose()
    writer.dispose()
