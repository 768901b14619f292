"""Alembic environment: runs on a connection handed in by fortify.store.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from fortify.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as c:
            _configure(c)
        return
    _configure(conn)


def _configure(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
