"""Stored face templates with no recognisable face (enrolled before such captures were
refused) are found by ``fortify index check --unusable``; the count is complete, the
listing bounded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from sqlalchemy import select

from fortify.cli.__main__ import cli
from fortify.gallery import Gallery
from fortify.gallery.unusable import unusable_templates
from fortify.store.tables import TemplateRow
from fortify.templates.codec import decode, encode
from fortify.types import Template
from tests.conftest import add_user


def _store_null_template(g: Gallery) -> str:
    """A template equal to the null template, on an enrolled sample (a pre-gate capture)."""
    null = g.engine.extractor.null_vector  # type: ignore[attr-defined]
    with g.db.session() as s:
        row = s.scalars(select(TemplateRow).order_by(TemplateRow.id)).first()
        assert row is not None
        sample_id, identity_id, old = row.sample_id, row.identity_id, decode(row.data)
    t = Template(np.asarray(null, np.float32), old.model_id, old.model_version, old.model_digest)
    with g.db.transaction() as s:
        s.add(TemplateRow(sample_id=sample_id, identity_id=identity_id, model_id=old.model_id,
                          model_version=old.model_version, data=encode(t)))  # fmt: skip
    return sample_id


def test_unusable_templates_are_listed(enrolled: Gallery) -> None:
    ex = enrolled.engine.extractor
    model = enrolled.engine.model_id
    clean = unusable_templates(enrolled.db, model, ex.null_vector, ex.null_max)  # type: ignore[attr-defined]
    assert clean.unusable == 0 and clean.templates == 20 and clean.samples == []
    sample_id = _store_null_template(enrolled)
    rep = unusable_templates(enrolled.db, model, ex.null_vector, ex.null_max, batch=7)  # type: ignore[attr-defined]
    assert rep.templates == 21 and rep.unusable == 1
    assert rep.samples[0]["sample_id"] == sample_id
    assert rep.samples[0]["null_similarity"] > 0.99


def test_index_check_unusable_flag(enrolled: Gallery) -> None:
    home = Path(enrolled.settings.home)
    _store_null_template(enrolled)
    enrolled.close()
    r = CliRunner().invoke(cli, ["--home", str(home), "index", "check", "--unusable"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["unusable_face_templates"]
    assert out["unusable"] == 1 and out["limit"] == 0.4 and len(out["samples"]) == 1


def test_index_check_unusable_needs_an_enrolling_role(enrolled: Gallery) -> None:
    home = Path(enrolled.settings.home)
    token = add_user(enrolled, "auditor-u", "auditor")
    enrolled.close()
    args = ["--home", str(home), "--token", token, "index", "check", "--unusable"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code != 0 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "forbidden" in r.stderr
