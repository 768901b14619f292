"""The public transparency report, generated from a seeded history: aggregates and plots,
no personal data; and the governance CLI (training, subject report, transparency)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fortify.accountability.operators import Operator
from fortify.errors import FortifyError
from fortify.gallery import Gallery
from fortify.governance import outcome, subject
from fortify.governance.transparency import build_report, parse_period
from fortify.governance.transparency_render import write_report
from fortify.store.tables import utcnow
from tests.conftest import make_settings, train

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]
NAMES = ("tr-officer-ann", "tr-super-bob")
PURPOSES = ("Robbery Elm Street 12", "Missing child Kestrel", "Traffic stop Route 66")
CASES = ("CASE-77123", "CASE-88456")


def _seed(g: Gallery, people: People) -> list[str]:
    off, sup = Operator(NAMES[0], "officer"), Operator(NAMES[1], "supervisor")
    train(g, *NAMES)
    ids = []
    ids.append(
        g.identify(
            people[0][1][1],
            operator=off,
            purpose=PURPOSES[0],
            case_id=CASES[0],
            category="criminal-investigation",
            face="largest",
        )["search_id"]
    )
    ids.append(
        g.identify(
            people[1][1][1],
            operator=off,
            purpose=PURPOSES[1],
            category="missing-person",
            face="largest",
        )["search_id"]
    )
    ids.append(
        g.identify(
            people[2][1][1],
            operator=sup,
            purpose=PURPOSES[2],
            case_id=CASES[1],
            face="largest",
            channel="cli",
        )["search_id"]
    )
    for kw in (
        {"purpose": "protest at the square"},
        {"purpose": ""},
        {"purpose": "burglary", "category": "criminal-investigation"},
    ):
        with contextlib.suppress(FortifyError):
            g.identify(people[0][1][1], operator=off, **kw)
    r = g.get_search(ids[0], operator=sup)
    g.confirm_match(ids[0], r["candidates"][0]["identity_id"], operator=sup)
    outcome.record_outcome(g, ids[1], "verified_citizen", operator=off)
    subject.record_dispute(
        g,
        r["candidates"][0]["identity_id"],
        operator=sup,
        text="Record says wrong date of birth",
        kind="correction",
    )
    return [ref for ref, _ in people[:3]]


def test_transparency_report_is_aggregate_only(
    enrolled: Gallery, people: People, tmp_path: Path
) -> None:
    refs = _seed(enrolled, people)
    ev = tmp_path / "eval.json"
    ev.write_text(
        json.dumps(
            {
                "label": "test eval",
                "per_group": {
                    "fnir_ratio_worst_to_best": 2.0,
                    "bootstrap": {"fnir_ratio_interval": [0.8, 4.5]},
                    "groups": {
                        "group-a": {
                            "n_mated": 40,
                            "n_nonmated": 40,
                            "fpir_at_global_threshold": 0.01,
                            "fnir_at_global_threshold": 0.05,
                            "low_sample": False,
                        },
                        "group-b": {
                            "n_mated": 8,
                            "n_nonmated": 9,
                            "fpir_at_global_threshold": 0.02,
                            "fnir_at_global_threshold": 0.1,
                            "low_sample": True,
                        },
                    },
                },
            }
        )
    )
    now = utcnow()
    r = build_report(enrolled, parse_period(f"{now.year}-{now.month:02d}"), ev)
    s = r["searches"]
    assert s["total"] == 3 and s["by_channel"] == {"api": 2, "cli": 1}
    assert s["by_purpose_category"] == {
        "criminal-investigation": 1,
        "missing-person": 1,
        "field-inquiry": 1,
    }
    assert r["refusals_by_reason"] == {
        "purpose_prohibited": 1,
        "purpose_required": 1,
        "case_id_required": 1,
    }
    assert r["confirmed_matches"] == 1 and r["disputes_and_corrections"] == {"correction": 1}
    assert r["deletions"]["probes_deleted_at_once_non_subjects"] == {"verified_citizen": 1}
    assert r["accuracy"]["groups"]["group-b"]["low_sample"] is True
    assert r["audit_chain"]["ok"] and len(r["audit_chain"]["head_hash"]) == 64
    paths = write_report(r, tmp_path / "out")
    html = paths["html"].read_text()
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert html.count("<img") >= 5 and r["policy"]["digest"] in html
    assert "worst/best FNIR ratio 2.00 (90% interval 0.80 to 4.50)" in html
    raw = html + paths["json"].read_text()
    # digests and chain hashes are random hex: a short reference like "7202" can occur
    # inside one by chance, which is not a leak, so they are blanked for the short secrets
    public = re.sub(r"\b[0-9a-f]{16,}\b", "<hex>", raw)
    with enrolled.db.session() as sess:
        from sqlalchemy import select

        from fortify.store.tables import Identity

        ids = list(sess.scalars(select(Identity.id)))
    for secret in (*NAMES, *PURPOSES, *CASES, *refs, "local:", "wrong date of birth"):
        assert secret not in public, secret
    for identity_id in ids:  # 32 hex digits themselves: checked against the raw text
        assert identity_id not in raw, identity_id
    assert parse_period("2026-Q4").start.month == 10 and parse_period("2026-Q4").end.year == 2027
    with pytest.raises(FortifyError):
        parse_period("Q4-2026")


def test_cli_training_subject_report_and_transparency(
    enrolled_home: Path, people: People, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(enrolled_home, home)

    def run(*args: str) -> tuple[int, str, str]:
        res = CliRunner().invoke(cli, ["--home", str(home), *args])
        return res.exit_code, res.stdout, res.stderr

    from fortify.cli.__main__ import cli

    code, out, err = run("users", "add", "newbie", "--role", "officer", "--json")
    assert code == 0, err
    token = json.loads(out)["token"]
    probe = str(people[6][1][1])
    code, _, err = run(
        "--token", token, "identify", probe, "--purpose", "stop", "--face", "largest"
    )
    assert code != 0 and err.startswith("error: training_required:") and len(err.splitlines()) == 1
    code, _, err = run(
        "users", "train", "newbie", "--course", "FR-101", "--completed", "2099-01-01"
    )
    assert code != 0 and "invalid_input" in err
    code, out, err = run(
        "users",
        "train",
        "newbie",
        "--course",
        "FR-101",
        "--completed",
        "2026-01-05",
        "--expires",
        "2099-01-01",
    )
    assert code == 0 and "valid until 2099-01-01" in out, err
    code, out, err = run(
        "--token", token, "identify", probe, "--purpose", "stop", "--face", "largest", "--json"
    )
    assert code == 0, err
    code, out, err = run("users", "training", "--json")
    assert code == 0 and json.loads(out)["valid"]["newbie"] is True
    code, _, err = run(
        "--token", token, "identify", probe, "--purpose", "see the protest", "--face", "largest"
    )
    assert code != 0 and "purpose_prohibited" in err
    ref = people[6][0]
    code, out, err = run("subject", "report", "--reference", ref, "--out", str(tmp_path / "sar"))
    assert code == 0 and "Searches that returned this identity (1)" in out, err
    rep = json.loads((tmp_path / "sar" / "report.json").read_text())
    assert rep["searches"][0]["actor"] == "newbie" and rep["photos"]
    code, _, err = run("subject", "report", "--reference", "nobody-here")
    assert code != 0 and "not_found" in err
    code, out, err = run("report", "transparency", "--out", str(tmp_path / "tr"))
    assert code == 0, err
    assert (tmp_path / "tr" / "index.html").is_file() and (tmp_path / "tr" / "report.pdf").is_file()
    assert "refused" in out
    code, _, err = run("report", "transparency", "--period", "bogus", "--out", str(tmp_path / "x"))
    assert code != 0 and "invalid_input" in err


def test_demo_style_local_training(tmp_path: Path, engine: object) -> None:
    """`fortify users train local:<user>` trains the CLI's own OS account."""
    from fortify.accountability.operators import local_operator
    from fortify.cli.demo import train_demo

    g = Gallery(make_settings(tmp_path / "h"), engine=engine)  # type: ignore[arg-type]
    try:
        op = local_operator()
        train_demo(g, [op.name], op)
        from fortify.accountability.training import training_status
        from fortify.accountability.use_policy import load_policy

        with g.db.session() as s:
            assert training_status(s, load_policy(None), op.name).valid
    finally:
        g.close()
