"""Sample warrants service: HTTP in front of its own database (SYNTHETIC records).

The database (PostgreSQL, or SQLite where there is none) holds ``sample_warrants`` and
``sample_vehicles``; the vehicle table is also what the demo's read-only SQL source
reads. Answers in the service's own dialect (``{"result": "HIT", "warrants": [...]}``),
which the settings file maps to the common records.
``python -m fortify.federation.samples.warrants --port 0 --db postgresql+psycopg://...``
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import make_url

from fortify.federation.samples import common, data

meta = MetaData()
warrants = Table(
    "sample_warrants",
    meta,
    Column("warrant_no", String(40), primary_key=True),
    Column("ref", String(128), index=True),
    Column("name", String(200), index=True),
    Column("dob", String(10)),
    Column("offence", String(300)),
    Column("wtype", String(20)),
    Column("issued", String(10)),
    Column("agency", String(100)),
)
vehicles = Table(
    "sample_vehicles",
    meta,
    Column("id", String(40), primary_key=True),
    Column("ref", String(128), index=True),
    Column("owner", String(200)),
    Column("plate", String(20), index=True),
    Column("make", String(40)),
    Column("model", String(40)),
    Column("year", Integer),
    Column("flags", String(100)),
)


def ensure_database(url: str) -> None:
    """Create a PostgreSQL database named in ``url`` when it does not exist yet."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql" or not u.database:
        return
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            have = c.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": u.database}
            ).first()
            if not have:
                c.exec_driver_sql(f'CREATE DATABASE "{u.database}"')
    finally:
        admin.dispose()


def seed(engine: Engine, dataset: dict[str, list[dict[str, Any]]]) -> None:
    """(Re)write the synthetic records."""
    meta.create_all(engine)
    with engine.begin() as c:
        c.execute(warrants.delete())
        c.execute(vehicles.delete())
        if dataset["warrants"]:
            c.execute(warrants.insert(), dataset["warrants"])
        if dataset["vehicles"]:
            c.execute(vehicles.insert(), dataset["vehicles"])


def handler(engine: Engine) -> Any:
    def handle(req: dict[str, Any]) -> common.Answer:
        keys = common.require_keys(req)
        if keys is None:
            return 403, {"result": "REFUSED"}
        q = select(warrants)
        if keys.get("reference"):
            q = q.where(warrants.c.ref == keys["reference"])
        elif keys.get("name") and keys.get("dob"):
            q = q.where(warrants.c.name == keys["name"], warrants.c.dob == keys["dob"])
        else:
            return 200, {"result": "NO RECORD", "warrants": []}
        with engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(q.limit(50))]
        out = [
            {
                "warrant_no": r["warrant_no"],
                "subject": {"name": r["name"], "dob": r["dob"], "ref": r["ref"]},
                "offence": r["offence"],
                "type": r["wtype"],
                "issued": r["issued"],
                "court": r["agency"],
                "synthetic": True,
            }
            for r in rows
        ]
        return 200, {"result": "HIT" if out else "NO RECORD", "warrants": out}

    return handle


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="fortify.federation.samples.warrants")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--db", required=True, help="SQLAlchemy URL of the service's own database")
    common.add_arguments(p)
    args = p.parse_args(argv)
    common.configure()
    common.watch_parent(args.parent_pid)
    ensure_database(args.db)
    engine = create_engine(args.db, pool_pre_ping=True)
    seed(engine, data.load(args.data))
    common.serve_http(args.port, handler(engine), common.behaviour(args), "warrants")


if __name__ == "__main__":
    main()
