"""A gallery whose face index is split over two shard servers: enrolment reaches the
shards through the change log, searches merge them, a reopened gallery reuses them, and
a shard that does not answer fails the search (503 ``index_unavailable``), never a
ranking that leaves part of the gallery out."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fortify.accountability.operators import Operator
from fortify.errors import IndexUnavailable
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from fortify.service import create_app
from tests.conftest import add_user, make_settings, train
from tests.unit.index.test_sharded import TOKEN, start_shards

People = list[tuple[str, list[Path]]]


def test_sharded_face_gallery(
    tmp_path: Path,
    engine: Engine,
    people: People,
    admin: Operator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORTIFY_SHARD_TOKEN", TOKEN)
    servers = start_shards(tmp_path, 2, "Flat", engine.model_spec()[1])
    factory = "shards://" + ",".join(f"127.0.0.1:{s.port}" for s in servers) + "?timeout=5"
    home = tmp_path / "home"
    try:
        g = Gallery(make_settings(home, index_factory=factory), engine=engine)
        train(g, admin.name)
        for ref, files in people[:6]:
            g.enroll_image(files[0], reference=ref, operator=admin, face="largest", source="t")
        assert g.open_index().ntotal == 6
        assert sorted(s.shard.index.ntotal for s in servers) == [3, 3]
        r = g.identify(people[2][1][1], operator=admin, purpose="test: sharded search")
        assert r["candidates"] and r["candidates"][0]["reference"] == people[2][0]
        g.close()

        again = Gallery(make_settings(home, index_factory=factory), engine=engine)
        report = again.open_index()
        assert report.action in ("loaded", "caught_up") and report.ntotal == 6
        servers[1].stop()
        with pytest.raises(IndexUnavailable) as err:
            again.identify(people[3][1][1], operator=admin, purpose="test: shard down")
        assert err.value.http_status == 503
        token = add_user(again, "officer-s", "officer")
        with TestClient(create_app(again.settings, again)) as client:
            r = client.post(
                "/v1/searches",
                headers={"Authorization": f"Bearer {token}"},
                files={"image": ("p.jpg", people[3][1][1].read_bytes(), "image/jpeg")},
                data={"purpose": "test: shard down", "case_id": "C-1"},
            )
        assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
        again.close()
    finally:
        for s in servers:
            s.stop()
