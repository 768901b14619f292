"""Opt-out: refused by face and by any spelling of the reference; searches scrubbed (item 5)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.cli.__main__ import cli
from fortify.errors import Forbidden, InvalidInput, OptedOut
from fortify.gallery import Gallery
from fortify.store.tables import AuditEvent, EncounterCapture, OptOut, OptOutTemplate
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _iid(g: Gallery, admin: Operator, ref: str) -> str:
    return str(g.list_identities(operator=admin, reference=ref)["items"][0]["identity_id"])


def test_reenrolment_refused_by_face_under_any_reference_or_source(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    ref, files = people[3]
    out = enrolled.opt_out_identity(_iid(enrolled, admin, ref), operator=admin, reason="GDPR req 1")
    assert out["refusal_templates"] == 1
    with pytest.raises(OptedOut) as exc:  # a new reference, another source: the face says no
        enrolled.enroll_image(files[1], reference="new-person", operator=admin, source="other")
    assert exc.value.details["reason"] == "face"
    with enrolled.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptOutTemplate)) == 1
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "enroll.refused")).all()
    assert refused and json.loads(refused[-1].details)["reason"] == "face"
    # the refusal list is never a candidate list
    r = enrolled.identify(files[1], operator=admin, purpose="test: after opt-out")
    assert ref not in [c["reference"] for c in r["candidates"]]
    # someone else still enrols
    _, other = people[10]
    enrolled.enroll_image(other[1], reference="someone-else", operator=admin, face="largest")


@pytest.mark.parametrize("variant", ["07205", "72\u200b05", "\uff17\uff12\uff10\uff15", "7205 "])
def test_reference_variants_refused_in_any_source(
    enrolled: Gallery, people: People, admin: Operator, variant: str
) -> None:
    assert not enrolled.opt_out("7205", operator=admin, source="custody", reason="asked by letter")
    photo = people[12][1][1]  # a different face: only the reference can refuse it
    with pytest.raises(OptedOut) as exc:
        enrolled.enroll_image(photo, reference=variant, operator=admin, source="another")
    assert exc.value.details["reason"] == "reference"


def test_salted_hash_and_private_salt(enrolled: Gallery, admin: Operator) -> None:
    enrolled.opt_out("R-1", operator=admin, source="test", reason="request 17")
    salt = enrolled.settings.home / "optout.salt"
    assert (salt.stat().st_mode & 0o777) == 0o600
    with enrolled.db.session() as s:
        stored = set(s.scalars(select(OptOut.reference_hash)))
    unsalted = {hashlib.sha256(x.encode()).hexdigest() for x in ("test\x1fR-1", "r1", "R-1")}
    assert stored and not stored & unsalted


def test_confirmed_search_keeps_no_photo_or_name(
    enrolled: Gallery, people: People, admin: Operator
) -> None:
    ref, files = people[4]
    iid = _iid(enrolled, admin, ref)
    r = enrolled.identify(files[1], operator=admin, purpose="test: to confirm", case_id="C-1")
    assert iid in [c["identity_id"] for c in r["candidates"]]
    train(enrolled, "second-sup")  # separation of duties: another trained person confirms
    second = Operator("second-sup", "supervisor")
    enrolled.confirm_match(r["search_id"], iid, operator=second, note="checked")
    probe_files = list((enrolled.settings.media_dir / "probes").glob(f"{r['search_id']}-*"))
    assert probe_files
    enrolled.opt_out_identity(iid, operator=admin, reason="opt-out request 9")
    after = enrolled.get_search(r["search_id"], operator=admin)
    text = json.dumps(after)
    named = [c for c in after["candidates"] if c.get("reference") == ref]
    assert not named and iid not in text
    redacted = [c for c in after["candidates"] if c.get("redacted") == "opted_out"]
    assert redacted and set(redacted[0]) == {"rank", "score", "identity_id", "redacted"}
    assert after.get("confirmed_identity_id") is None
    assert not any(p.exists() for p in probe_files)
    with enrolled.db.session() as s:
        caps = s.scalars(
            select(EncounterCapture).where(EncounterCapture.encounter_id == r["search_id"])
        ).all()
    assert caps and all(c.template is None and c.probe_path is None for c in caps)
    assert enrolled.verify_audit(operator=admin, deep=True).ok


def test_opt_out_needs_role_and_reason(enrolled: Gallery, people: People, admin: Operator) -> None:
    iid = _iid(enrolled, admin, people[0][0])
    with pytest.raises(Forbidden):
        enrolled.opt_out_identity(iid, operator=Operator("o", "officer"), reason="because")
    with pytest.raises(InvalidInput):
        enrolled.opt_out_identity(iid, operator=admin, reason="\u200b\u200b\u200b")


def test_optout_cli(enrolled: Gallery, people: People, admin: Operator) -> None:
    home = enrolled.settings.home
    ref, files = people[7]
    enrolled.close()
    r = CliRunner().invoke(
        cli, ["--home", str(home), "optout", ref, "--source", "test", "--reason", "letter 3"]
    )
    assert r.exit_code == 0, r.output
    assert "deleted and refused" in r.output
    r = CliRunner().invoke(cli, ["--home", str(home), "optout", "--reason", "x y z"])
    assert r.exit_code == 1 and r.stderr.startswith("error: invalid_input:")
    g = Gallery(make_settings(home), engine=enrolled.engine)
    try:
        with pytest.raises(OptedOut):
            g.enroll_image(files[1], reference=ref + "-b", operator=admin, source="test")
    finally:
        g.close()
