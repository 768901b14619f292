"""Fingerprints through the one accountable path: enrol, search, refusals, CLI and API."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.cli.__main__ import cli
from fortify.errors import FortifyError, PurposeRequired
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from fortify.service import create_app
from fortify.store.tables import AuditEvent, Encounter, EncounterCapture, Sample, TemplateRow
from tests.conftest import add_user, blank_image, make_settings, train, train_local

DB1 = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fingerprints").resolve()
DB1 = DB1 / "fvc2002" / "DB1_B"
People = list[tuple[str, list[Path]]]
FINGERS = ("101", "102", "103", "104")
pytestmark = pytest.mark.slow
THRESHOLD = "0.03"  # fixed MCC cut for a four-finger test gallery


@pytest.fixture
def finger_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not DB1.is_dir():
        pytest.skip(f"fingerprint data not found at {DB1}")
    monkeypatch.setenv("FORTIFY_FINGER_MATCH_THRESHOLD", THRESHOLD)
    src = tmp_path / "prints"
    for f in FINGERS:
        (src / f"person-{f}").mkdir(parents=True)
        for imp in (1, 2):
            shutil.copy(DB1 / f"{f}_{imp}.png", src / f"person-{f}" / f"{f}_{imp}.png")
    return src


@pytest.fixture
def fgallery(finger_home: Path, tmp_path: Path, admin: Operator) -> Iterator[Gallery]:
    g = Gallery(make_settings(tmp_path / "home"))
    train(g, admin.name)
    for d in sorted(finger_home.iterdir()):
        for f in sorted(d.iterdir()):
            g.enroll_image(
                f, reference=d.name, operator=admin, modality="finger", finger_position=2
            )
    yield g
    g.close()


def _counts(g: Gallery) -> tuple[int, int, int]:
    with g.db.session() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (TemplateRow, Encounter, Sample)
        )


def test_finger_search_finds_mate(fgallery: Gallery, admin: Operator) -> None:
    for f, imp in (("101", 4), ("102", 4), ("103", 7)):
        r = fgallery.identify(
            DB1 / f"{f}_{imp}.png",
            operator=admin,
            purpose="test: finger search",
            modality="finger",
            finger_position="right-index",
        )
        assert r["modality"] == "finger" and r["model"].startswith("finger-")
        assert r["probe"]["finger_position"] == 2 and r["gallery_size"] == 8
        assert r["candidates"], (r["threshold"], r["consistency"])
        assert r["candidates"][0]["reference"] == f"person-{f}"
    with fgallery.db.session() as s:
        mods = set(s.scalars(select(TemplateRow.modality)))
        caps = s.scalars(select(EncounterCapture)).all()
    assert mods == {"finger"} and {c.modality for c in caps} == {"finger"}
    assert {c.finger_position for c in caps} == {2}


def test_two_finger_captures_one_encounter(fgallery: Gallery, admin: Operator) -> None:
    r = fgallery.identify(
        DB1 / "104_3.png", operator=admin, purpose="test: two captures", modality="finger"
    )
    r2 = fgallery.add_capture(r["search_id"], DB1 / "104_8.png", operator=admin, modality="finger")
    assert r2["captures"] == 2 and r2["candidates"][0]["reference"] == "person-104"
    assert r2["consistency"]["agree"], r2["consistency"]


def test_bad_finger_input_stores_nothing(
    fgallery: Gallery, admin: Operator, tmp_path: Path
) -> None:
    before = _counts(fgallery)
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(blank_image())
    for data in (blank, b"\xff\xa0\xff\xa8corrupt wsq", b"FMR\x00 20\x00broken"):
        with pytest.raises(FortifyError) as exc:
            fgallery.identify(data, operator=admin, purpose="test: bad input", modality="finger")
        assert exc.value.code in (
            "no_finger",
            "quality_too_low",
            "invalid_image",
            "invalid_template",
        )
        with pytest.raises(FortifyError):
            fgallery.enroll_image(data, reference="x", operator=admin, modality="finger")
    with pytest.raises(PurposeRequired):
        fgallery.identify(DB1 / "101_3.png", operator=admin, purpose="", modality="finger")
    with pytest.raises(FortifyError) as exc:
        fgallery.identify(
            DB1 / "101_3.png", operator=admin, purpose="unknown modality", modality="iris"
        )
    assert exc.value.code == "invalid_input"
    assert _counts(fgallery) == before
    with fgallery.db.session() as s:
        failed = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "search.failed")
        )
    assert failed == 4
    assert fgallery.verify_audit(operator=admin).ok


def test_cli_enroll_and_identify_finger(finger_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    train_local(home)
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "--home",
            str(home),
            "enroll",
            str(finger_home),
            "--modality",
            "finger",
            "--json",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["enrolled"] == 8 and summary["modality"] == "finger"
    r = runner.invoke(
        cli,
        [
            "--home",
            str(home),
            "identify",
            "--finger",
            "right-index",
            str(DB1 / "102_3.png"),
            "--purpose",
            "CLI finger test",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["modality"] == "finger" and out["candidates"][0]["reference"] == "person-102"
    r = runner.invoke(
        cli,
        [
            "--home",
            str(home),
            "identify",
            "--finger",
            "right-toe",
            str(DB1 / "102_3.png"),
            "--purpose",
            "bad finger",
        ],
    )
    assert r.exit_code != 0 and "invalid_input" in r.stderr


def test_api_finger_search_and_sample(fgallery: Gallery) -> None:
    token = add_user(fgallery, "officer-f", "officer")
    sup = add_user(fgallery, "sup-f", "supervisor")
    app = create_app(fgallery.settings, fgallery)
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {token}"}
        png = (DB1 / "103_3.png").read_bytes()
        r = c.post(
            "/v1/searches",
            headers=h,
            files={"image": ("f.png", png, "image/png")},
            data={"purpose": "API finger test", "modality": "finger", "finger_position": "2"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["modality"] == "finger" and body["candidates"][0]["reference"] == "person-103"
        r = c.post(
            "/v1/searches",
            headers=h,
            files={"image": ("b.jpg", blank_image(), "image/jpeg")},
            data={"purpose": "API finger test", "modality": "finger"},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] in (
            "no_finger",
            "quality_too_low",
        )
        iid = body["candidates"][0]["identity_id"]
        r = c.post(
            f"/v1/identities/{iid}/samples",
            headers={"Authorization": f"Bearer {sup}"},
            files={"image": ("f.png", (DB1 / "103_5.png").read_bytes(), "image/png")},
            data={"modality": "finger", "finger_position": "right-index"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["quality"]["minutiae"] > 0


def test_encounter_with_face_and_finger(
    finger_home: Path, tmp_path: Path, admin: Operator, engine: Engine, people: People
) -> None:
    g = Gallery(make_settings(tmp_path / "mm"), engine=engine)
    train(g, admin.name)
    try:
        ref, files = people[0]
        g.enroll_image(files[0], reference=ref, operator=admin)
        g.enroll_image(
            DB1 / "101_1.png", reference=ref, operator=admin, modality="finger", finger_position=2
        )
        g.enroll_image(DB1 / "102_1.png", reference="other", operator=admin, modality="finger")
        r = g.identify(files[1], operator=admin, purpose="test: face then finger")
        assert r["modality"] == "face"
        r2 = g.add_capture(
            r["search_id"],
            DB1 / "101_2.png",
            operator=admin,
            modality="finger",
            finger_position="right-index",
        )
        assert r2["modality"] == "finger" and set(r2["by_modality"]) == {"face", "finger"}
        assert r2["candidates"][0]["reference"] == ref
        assert r2["by_modality"]["face"]["top_identity_id"] == r2["candidates"][0]["identity_id"]
        assert r2["consistency"]["agree"], r2["consistency"]
        fused = r2["fused"]  # one ranking over face and finger, one FPIR per candidate
        assert fused["modalities"] == ["face", "finger"], fused
        top = fused["candidates"][0]
        assert top["reference"] == ref and top["modalities_matched"] == ["face", "finger"]
        face_fpir = r2["by_modality"]["face"]["candidates"][0]["estimated_fpir"]
        assert 0 < top["estimated_fpir"] <= face_fpir and "independent" in fused["assumption"]
        r3 = g.add_capture(r["search_id"], DB1 / "102_2.png", operator=admin, modality="finger")
        assert not r3["consistency"]["agree"]  # the second finger points at someone else
        assert {c["reference"] for c in r3["fused"]["candidates"]} >= {ref}
        with g.db.session() as s:
            ev = s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "search.capture")
                .order_by(AuditEvent.seq.desc())
            ).first()
        assert ev is not None and json.loads(ev.details)["fused"][0][0] in {ref, "other"}
        assert g.verify_audit(operator=admin).ok
    finally:
        g.close()


def test_old_finger_model_retemplated_from_its_records(
    fgallery: Gallery, admin: Operator, tmp_path: Path
) -> None:
    """Templates of another finger model are not searched until re-templated (resumable)."""
    from sqlalchemy import update

    model = fgallery.modality("finger").model_spec()[0]
    with fgallery.db.session() as s:
        s.execute(update(TemplateRow).values(model_id="finger-mindtct-mcc-v2"))
        s.commit()
    fgallery.close()

    def search(g: Gallery) -> dict[str, object]:
        return g.identify(
            DB1 / "103_7.png", operator=admin, purpose="test: retemplate", modality="finger"
        )

    g = Gallery(make_settings(tmp_path / "home"))
    r = search(g)
    assert r["gallery_size"] == 0 and not r["candidates"]  # v2 rows: not mixed in
    g.close()
    home = str(tmp_path / "home")
    runner = CliRunner()
    args = ["--home", home, "index", "retemplate", "--modality", "finger"]
    r1 = runner.invoke(cli, [*args, "--limit", "3"])
    assert r1.exit_code == 0, r1.output
    out = json.loads(r1.stdout[r1.stdout.index("{") :])
    assert out["retemplated"] == 3 and not out["coverage"]["complete"] and not out["failed"]
    r2 = runner.invoke(cli, args)  # resumes with the other five
    out = json.loads(r2.stdout[r2.stdout.index("{") :])
    assert out["retemplated"] == 5 and out["coverage"]["complete"], r2.output
    g = Gallery(make_settings(tmp_path / "home"))
    r = search(g)
    assert r["gallery_size"] == 8 and r["model"] == model
    assert r["candidates"][0]["reference"] == "person-103"  # type: ignore[index]
    with g.db.session() as s:
        acts = s.scalars(select(AuditEvent.action).where(AuditEvent.action == "index.retemplate"))
        assert len(acts.all()) == 2
    g.close()
