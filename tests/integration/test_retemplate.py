"""A gallery of an older face model keeps searching with it until re-templated; never a mix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fortify.accountability.operators import Operator
from fortify.cli.__main__ import cli
from fortify.gallery import Gallery
from fortify.gallery.retemplate import coverage, retemplate
from fortify.modalities.face.engine import Engine
from fortify.service.routes.system import models
from fortify.store.tables import AuditEvent
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _top(g: Gallery, probe: Path, op: Operator) -> tuple[str, str]:
    r = g.identify(probe, operator=op, purpose="test: retemplate", face="largest")
    return r["model"], r["candidates"][0]["reference"] if r["candidates"] else ""


def test_old_model_until_retemplated(
    tmp_path: Path,
    people: People,
    admin: Operator,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = tmp_path / "home"
    old = make_settings(home, face_model="dlib-resnet-v1", detector="cascade")
    g = Gallery(old, engine=Engine(old))
    train(g, admin.name)
    for ref, files in people[:4]:
        g.enroll_image(files[0], reference=ref, operator=admin, face="largest", source="test")
    g.close()

    # configured for the default model, the gallery still searches with its templates' model
    with caplog.at_level("WARNING", logger="fortify.gallery.retemplate"):
        g = Gallery(make_settings(home))
    assert g.engine.model_id == "dlib-resnet-v1"
    assert any("index retemplate" in r.getMessage() for r in caplog.records)  # says so
    face = models(g, admin)["face"]  # and so does GET /v1/models
    assert face["model_id"] == "dlib-resnet-v1" and face["configured_model"] == "edgeface-s-v2"
    assert face["retemplate_pending"] is True
    assert _top(g, people[0][1][1], admin) == ("dlib-resnet-v1", people[0][0])
    rep = retemplate(g, engine, operator=admin, limit=2)  # the default (EdgeFace) engine
    assert rep.retemplated == 2 and not rep.coverage.complete and not rep.failed
    g.close()
    g = Gallery(make_settings(home))  # half done: still the old model, not a mix
    assert g.engine.model_id == "dlib-resnet-v1" and g.open_index().ntotal == 4
    g.close()

    r = CliRunner().invoke(cli, ["--home", str(home), "index", "retemplate"])  # resumes
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{") :])
    assert out["retemplated"] == 2 and out["coverage"]["complete"]
    g = Gallery(make_settings(home))
    assert g.engine.model_id == "edgeface-s-v2"
    assert _top(g, people[1][1][1], admin) == ("edgeface-s-v2", people[1][0])
    assert coverage(g.db, "edgeface-s-v2").done == 4
    with g.db.session() as s:
        acts = s.scalars(select(AuditEvent.action)).all()
    assert acts.count("index.retemplate") == 2
    g.close()
