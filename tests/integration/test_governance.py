"""Governance on a real gallery: training, use policy, approvals, separation of duties,
reasons, rapid deletion, subject access and disputes. Every refusal is audited and
stores nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.accountability.use_policy import DEFAULT_POLICY, load_policy
from fortify.errors import (
    ApprovalRequired,
    CaseIdRequired,
    Conflict,
    FortifyError,
    PurposeProhibited,
    RateLimited,
    ReasonRequired,
    SearchNotAllowedHere,
    SeparationOfDuties,
    TrainingRequired,
)
from fortify.gallery import Gallery
from fortify.governance import approvals, outcome, subject
from fortify.store.tables import AuditEvent, Encounter, EncounterCapture, TrainingRecord
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]
OFFICER = Operator("gov-officer", "officer")
SUPER = Operator("gov-super", "supervisor")
SUPER2 = Operator("gov-super2", "supervisor")


def _stored(g: Gallery) -> tuple[int, int, int]:
    probes = g.settings.media_dir / "probes"
    with g.db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Encounter)) or 0),
            int(s.scalar(select(func.count()).select_from(EncounterCapture)) or 0),
            len(list(probes.glob("*"))) if probes.is_dir() else 0,
        )


def _last(g: Gallery, action: str) -> dict:  # type: ignore[type-arg]
    with g.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
        ).first()
    assert ev is not None, action
    return {"actor": ev.actor, "target": ev.target, **json.loads(ev.details)}


def test_every_policy_refusal_is_audited_and_stores_nothing(
    enrolled: Gallery, people: People
) -> None:
    g = enrolled
    probe = people[0][1][1]
    before = _stored(g)
    with pytest.raises(TrainingRequired):
        g.identify(probe, operator=OFFICER, purpose="traffic stop")
    assert _last(g, "search.refused")["code"] == "training_required"
    with g.write() as s:  # an expired record does not count
        old = date.today() - timedelta(days=400)
        s.add(
            TrainingRecord(
                operator=OFFICER.name,
                course="FR-101",
                completed_on=old.isoformat(),
                expires_on=(old + timedelta(days=365)).isoformat(),
                recorded_by="t",
            )
        )
    with pytest.raises(TrainingRequired):
        g.identify(probe, operator=OFFICER, purpose="traffic stop")
    train(g, OFFICER.name)
    cases: list[tuple[type[FortifyError], dict]] = [  # type: ignore[type-arg]
        (PurposeProhibited, {"purpose": "identify the protesters outside parliament"}),
        (PurposeProhibited, {"purpose": "crowd", "category": "protest-identification"}),
        (CaseIdRequired, {"purpose": "burglary", "category": "criminal-investigation"}),
        (SearchNotAllowedHere, {"purpose": "arrivals", "category": "border-check"}),
        (SearchNotAllowedHere, {"purpose": "truancy", "place": "school:north"}),
        (
            ApprovalRequired,
            {"purpose": "lead 4", "category": "intelligence-lead", "case_id": "I-4"},
        ),
    ]
    for err, kw in cases:
        with pytest.raises(err) as e:
            g.identify(probe, operator=OFFICER, **kw)
        last = _last(g, "search.refused")
        assert last["code"] == e.value.code and last["actor"] == OFFICER.name
        assert last["policy_digest"] == load_policy(None).digest
    assert _last(g, "search.refused")["purpose_category"] == "intelligence-lead"
    assert _stored(g) == before
    r = g.identify(
        probe,
        operator=OFFICER,
        purpose="arrivals",
        category="border-check",
        place="port-of-entry:dover",
        face="largest",
    )
    entry = _last(g, "search")
    assert entry["purpose_category"] == "border-check" and entry["place"] == "port-of-entry:dover"
    assert entry["policy_version"] == load_policy(None).version
    assert r["purpose_category"] == "border-check"
    assert g.verify_audit(operator=Operator("local:t", "admin")).ok


def test_rate_limit_from_a_policy_file(enrolled: Gallery, people: People, tmp_path: Path) -> None:
    f = tmp_path / "policy.toml"
    f.write_text(
        DEFAULT_POLICY.read_text().replace("searches_per_hour = 60", "searches_per_hour = 2")
    )
    g = Gallery(make_settings(enrolled.settings.home, policy_file=f), engine=enrolled.engine)
    try:
        train(g, OFFICER.name)
        for _ in range(2):
            g.identify(people[1][1][1], operator=OFFICER, purpose="stop", face="largest")
        before = _stored(g)
        with pytest.raises(RateLimited):
            g.identify(people[1][1][1], operator=OFFICER, purpose="stop", face="largest")
        assert _stored(g) == before
        refused = _last(g, "search.refused")
        assert refused["code"] == "rate_limited"
        assert refused["policy_digest"] == load_policy(f).digest != load_policy(None).digest
    finally:
        g.close()


def test_approval_flow_and_separation_of_duties(enrolled: Gallery, people: People) -> None:
    g = enrolled
    train(g, OFFICER.name, SUPER.name)
    a = approvals.request_approval(
        g, operator=OFFICER, category="intelligence-lead", purpose="lead 7", case_id="I-7"
    )
    assert a["status"] == "pending"
    with pytest.raises(SeparationOfDuties):
        approvals.decide(
            g, a["approval_id"], operator=Operator(OFFICER.name, "supervisor"), approve=True
        )
    with pytest.raises(TrainingRequired):
        approvals.decide(g, a["approval_id"], operator=SUPER2, approve=True)
    assert _last(g, "approval.refused")["code"] == "training_required"
    pending = approvals.list_approvals(g, operator=SUPER, status="pending")
    assert [p["approval_id"] for p in pending] == [a["approval_id"]]
    done = approvals.decide(g, a["approval_id"], operator=SUPER, approve=True, note="ok")
    assert done["status"] == "approved" and done["expires_at"]
    with pytest.raises(Conflict):
        approvals.decide(g, a["approval_id"], operator=SUPER, approve=False)
    files = people[2][1]
    with pytest.raises(ApprovalRequired):  # another operator cannot use it
        g.identify(
            files[1],
            operator=SUPER,
            purpose="lead 7",
            case_id="I-7",
            category="intelligence-lead",
            approval_id=a["approval_id"],
        )
    r = g.identify(
        files[1],
        operator=OFFICER,
        purpose="lead 7",
        case_id="I-7",
        category="intelligence-lead",
        approval_id=a["approval_id"],
        face="largest",
    )
    assert _last(g, "search")["approval_id"] == a["approval_id"]
    top = r["candidates"][0]["identity_id"]
    # confirming needs a second, trained person who did not run the search
    with pytest.raises(SeparationOfDuties):
        g.confirm_match(r["search_id"], top, operator=Operator(OFFICER.name, "supervisor"))
    with pytest.raises(TrainingRequired):
        g.confirm_match(r["search_id"], top, operator=SUPER2)
    assert _last(g, "search.confirm_refused")["code"] == "training_required"
    out = g.confirm_match(r["search_id"], top, operator=SUPER, note="checked documents")
    assert out["confirmed_identity_id"] == top
    with pytest.raises(Conflict):  # a confirmed match is kept, not rapidly deleted
        outcome.record_outcome(g, r["search_id"], "no_action", operator=OFFICER)


def test_reasons_required_for_delete_and_opt_out(enrolled: Gallery, people: People) -> None:
    admin = Operator("local:t", "admin")
    iid = enrolled.list_identities(operator=admin)["items"][0]["identity_id"]
    with pytest.raises(ReasonRequired):
        enrolled.delete_identity(iid, operator=admin)
    with pytest.raises(ReasonRequired):
        enrolled.opt_out(people[3][0], operator=admin, source="test", reason=" ")
    enrolled.delete_identity(iid, operator=admin, reason="court order 12")
    assert _last(enrolled, "identity.delete")["reason"] == "court order 12"


def test_rapid_deletion_for_people_who_are_not_subjects(enrolled: Gallery, people: People) -> None:
    g = enrolled
    train(g, OFFICER.name)
    before = _stored(g)
    r = g.identify(people[4][1][1], operator=OFFICER, purpose="stop", face="largest")
    g.add_capture(r["search_id"], people[4][1][2], operator=OFFICER, face="largest")
    assert _stored(g) != before
    with pytest.raises(FortifyError):
        outcome.record_outcome(g, r["search_id"], "arrested", operator=OFFICER)
    with pytest.raises(FortifyError):  # not another officer's search
        outcome.record_outcome(g, r["search_id"], "no_action", operator=Operator("x", "officer"))
    done = outcome.record_outcome(g, r["search_id"], "verified_citizen", operator=OFFICER)
    assert done["deleted"] and done["captures"] == 2
    assert _stored(g) == before  # encounter, captures and probe photos gone at once
    entry = _last(g, "search.rapid_delete")
    assert entry["outcome"] == "verified_citizen" and set(entry) == {
        "actor",
        "target",
        "outcome",
        "captures",
    }


def test_subject_report_and_disputes_on_candidate_cards(
    enrolled: Gallery, people: People, tmp_path: Path
) -> None:
    g = enrolled
    admin = Operator("local:t", "admin")
    train(g, OFFICER.name)
    ref, files = people[5]
    r1 = g.identify(files[1], operator=OFFICER, purpose="stop 1", case_id="K-1", face="largest")
    top = r1["candidates"][0]
    assert top["reference"] == ref and top["disputes"] == []
    subject.record_dispute(
        g, top["identity_id"], operator=SUPER, text="Not me: I was abroad", kind="dispute"
    )
    r2 = g.identify(files[1], operator=OFFICER, purpose="stop 2", face="largest")
    card = next(c for c in r2["candidates"] if c["identity_id"] == top["identity_id"])
    assert card["disputes"][0]["text"] == "Not me: I was abroad"
    with pytest.raises(FortifyError):
        subject.subject_report(g, operator=OFFICER, reference=ref)
    rep = subject.subject_report(g, operator=admin, reference=ref, photos_dir=tmp_path / "ph")
    assert rep["identity"]["identity_id"] == top["identity_id"]
    assert [s["purpose"] for s in rep["searches"]] == ["stop 1", "stop 2"]
    assert rep["searches"][0]["case_id"] == "K-1" and rep["disputes"][0]["kind"] == "dispute"
    assert rep["photos"] and all(Path(p["copied_to"]).is_file() for p in rep["photos"])
    assert _last(g, "subject.report")["target"] == f"identity:{top['identity_id']}"


def test_training_withdrawn_mid_encounter_stops_the_next_capture(
    enrolled: Gallery, people: People
) -> None:
    g = enrolled
    officer = Operator("gov-lapsed", "officer")
    train(g, officer.name)
    r = g.identify(people[0][1][1], operator=officer, purpose="traffic stop")
    with g.write() as s:  # the training record is withdrawn before the second capture
        s.query(TrainingRecord).filter(TrainingRecord.operator == officer.name).delete()
    before = _stored(g)
    with pytest.raises(TrainingRequired):
        g.add_capture(r["search_id"], people[0][1][0], operator=officer)
    refused = _last(g, "search.refused")
    assert refused["code"] == "training_required"
    assert refused["target"] == f"search:{r['search_id']}"
    assert _stored(g) == before
