"""The same gallery on PostgreSQL (the production database), when one is on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fortify.accountability.operators import Operator
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from tests.conftest import make_settings, train

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ADMIN_URL = os.environ.get("FORTIFY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on loopback: {exc}")
    name = f"fortify_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_gallery_on_postgres(
    pg_url: str,
    tmp_path: Path,
    engine: Engine,
    people: list[tuple[str, list[Path]]],
    admin: Operator,
) -> None:
    settings = make_settings(tmp_path / "home", database_url=pg_url)
    g = Gallery(settings, engine=engine)
    train(g, admin.name)
    for ref, files in people[:5]:
        g.enroll_image(files[0], reference=ref, operator=admin, face="largest")
    r = g.identify(people[2][1][1], operator=admin, purpose="postgres test")
    assert r["candidates"][0]["reference"] == people[2][0]
    g.delete_identity(r["candidates"][0]["identity_id"], operator=admin, reason="test")
    assert g.verify_audit(operator=admin).ok
    g.close()
    g2 = Gallery(settings, engine=engine)  # restart: index rebuilt/caught up from PostgreSQL
    assert g2.open_index().ntotal == 4
    g2.close()
