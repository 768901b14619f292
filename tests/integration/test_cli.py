"""The CLI round trip on real photos, through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fortify.cli.__main__ import cli
from tests.conftest import blank_image, train_local, two_faces

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory, people: People) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("cli")
    src = root / "gallery"
    for ref, files in people:
        (src / ref).mkdir(parents=True)
        shutil.copy(files[0], src / ref / files[0].name)
    (src / people[0][0] / "notes.txt").write_text("not an image")
    home = root / "home"
    res = CliRunner().invoke(
        cli, ["--home", str(home), "enroll", str(src), "--json", "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    train_local(home)  # the local account may search only with a training record
    return home, json.loads(res.stdout)


def run(home: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["--home", str(home), *args])
    return r.exit_code, r.stdout, r.stderr


def test_enroll_summary(cli_home: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, summary = cli_home
    assert summary["identities"] >= 19
    assert summary["enrolled"] + summary["rejected"] == 21
    assert summary["rejected_by_reason"].get("invalid_image") == 1
    assert 0 < summary["first_result_seconds"] <= summary["seconds"]


def test_identify_round_trip(cli_home: tuple[Path, dict], people: People) -> None:  # type: ignore[type-arg]
    home, _ = cli_home
    ref, files = people[3]
    code, out, err = run(
        home, "identify", str(files[1]), "--purpose", "CLI test", "--case", "C-1", "--json"
    )
    assert code == 0, err
    r = json.loads(out)
    assert r["decision"] == "candidates" and r["search_id"]
    top = r["candidates"][0]
    assert top["reference"] == ref and top["rank"] == 1 and 0 < top["score"] <= 1
    assert r["case_id"] == "C-1" and r["operator"].startswith("local:")
    code, out, _ = run(home, "identify", str(files[1]), "--purpose", "table output")
    assert code == 0 and "Investigative lead" in out and ref in out


def test_refusals(cli_home: tuple[Path, dict], people: People, tmp_path: Path) -> None:  # type: ignore[type-arg]
    home, _ = cli_home
    probe = str(people[1][1][1])
    code, _, err = run(home, "identify", probe)
    assert code != 0 and "purpose_required" in err and len(err.strip().splitlines()) == 1
    nf = tmp_path / "blank.jpg"
    nf.write_bytes(blank_image())
    code, _, err = run(home, "identify", str(nf), "--purpose", "no face")
    assert code != 0 and "no_face" in err
    tf = tmp_path / "two.jpg"
    tf.write_bytes(two_faces(people[1][1][1], people[2][1][1]))
    code, _, err = run(home, "identify", str(tf), "--purpose", "two faces")
    assert code != 0 and "multiple_faces" in err
    code, _out, err = run(home, "identify", str(tf), "--purpose", "two faces", "--face", "largest")
    assert code == 0, err
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code, _, err = run(home, "identify", str(bad), "--purpose", "bad file")
    assert code != 0 and "invalid_image" in err
    code, _, err = run(home, "identify", str(tmp_path / "missing.jpg"), "--purpose", "missing")
    assert code != 0 and "error:" in err
    code, _, err = run(home, "enroll", str(tmp_path / "nope"))
    assert code != 0


def test_users_token_and_roles(cli_home: tuple[Path, dict], people: People) -> None:  # type: ignore[type-arg]
    home, _ = cli_home
    code, out, err = run(home, "users", "add", "aud1", "--role", "auditor", "--json")
    assert code == 0, err
    token = json.loads(out)["token"]
    code, _, err = run(
        home, "--token", token, "identify", str(people[1][1][1]), "--purpose", "x-role"
    )
    assert code != 0 and "forbidden" in err
    code, out, err = run(home, "--token", token, "audit", "verify")
    assert code == 0 and "audit chain OK" in out
    code, _, err = run(home, "--token", "ftk_bogus", "audit", "verify")
    assert code != 0 and "unauthorized" in err


def test_audit_tamper_detected(cli_home: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    home, _ = cli_home
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    import sqlite3

    con = sqlite3.connect(copy / "fortify.db")
    con.execute('UPDATE audit_events SET details = \'{"purpose":"edited"}\' WHERE seq = 3')
    con.commit()
    con.close()
    code, _, err = run(copy, "audit", "verify")
    assert code == 1 and "first bad entry 3" in err


def test_index_files_deleted_then_rebuilt(
    cli_home: tuple[Path, dict], people: People, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    home, summary = cli_home
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    shutil.rmtree(copy / "index")
    code, out, err = run(copy, "index", "check")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["action"] == "rebuilt" and rep["ntotal"] == summary["enrolled"]
    ref, files = people[5]
    code, out, _ = run(copy, "identify", str(files[1]), "--purpose", "after rebuild", "--json")
    assert json.loads(out)["candidates"][0]["reference"] == ref


def test_identify_two_captures_fused(cli_home: tuple[Path, dict], people: People) -> None:  # type: ignore[type-arg]
    home, _ = cli_home
    ref, files = people[4]
    code, out, err = run(
        home,
        "identify",
        str(files[1]),
        str(files[2]),
        "--purpose",
        "two captures",
        "--face",
        "largest",
        "--json",
    )
    assert code == 0, err
    r = json.loads(out)
    assert r["captures"] == 2 and r["candidates"][0]["reference"] == ref
    assert r["consistency"]["agree"] is True
    code, out, err = run(
        home,
        "identify",
        str(files[1]),
        str(people[9][1][1]),
        "--purpose",
        "mixed captures",
        "--face",
        "largest",
    )
    assert code == 0, err
    assert "WARNING" in out
