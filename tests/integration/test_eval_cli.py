"""``fortify eval face`` on a small seeded slice of the real photos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fortify.cli.__main__ import cli
from fortify.matching.calibration import load_calibration
from tests.conftest import CELEBA

pytestmark = pytest.mark.slow


def test_eval_face_json_plots_groups_calibration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not CELEBA.is_dir():
        pytest.skip("evaluation data missing")
    # the single-model pipeline (half the extraction time of the fused default)
    monkeypatch.setenv("FORTIFY_FACE_MODEL", "dlib-resnet-v1")
    monkeypatch.setenv("FORTIFY_DETECTOR", "cascade")
    groups = tmp_path / "groups.csv"
    with groups.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["identity", "group"])
        for i, d in enumerate(sorted(p.name for p in CELEBA.iterdir())):
            w.writerow([d, "A" if i % 2 else "B"])
    args = [
        "--home",
        str(tmp_path / "home"),
        "eval",
        "face",
        str(CELEBA),
        "--json",
        "--max-identities",
        "8",
        "--plots",
        str(tmp_path / "plots"),
        "--groups",
        str(groups),
        "--calibration-out",
        str(tmp_path / "cal" / "dlib-resnet-v1.json"),
        "--workers",
        "1",
    ]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    for key in (
        "rank1",
        "fnir_at_fpir_0.01",
        "failure_to_acquire",
        "n_mated",
        "n_nonmated",
        "fnir_at_fpir_0.1",
        "fnir_at_fpir_0.001",
        "fnmr_at_fmr_0.001",
    ):
        assert key in m
    assert m["protocol"]["gallery_identities"] == 4 and m["n_mated"] > 0 and m["n_nonmated"] > 0
    codes = m["failures_by_code"]  # why captures failed: no_face, quality_too_low...
    assert all(isinstance(k, str) and v > 0 for k, v in codes.items())
    assert (m["failure_to_acquire"] > 0) <= bool(codes)
    assert 0.5 <= m["rank1"] <= 1.0
    assert (tmp_path / "plots" / "det.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "groups.png").stat().st_size > 1000  # rates by group
    pg = m["per_group"]
    assert set(pg["groups"]) <= {"A", "B", "unknown"}
    assert pg["bootstrap"]["unit"] == "identity" and pg["bootstrap"]["resamples"] == 1000
    assert "fnir_ratio_worst_to_best" in pg and "fnir_ratio_interval" in pg["bootstrap"]
    assert load_calibration("dlib-resnet-v1", tmp_path / "cal").table.n_impostor > 1000
    # a second run reuses the cached templates and gives the same numbers
    r2 = CliRunner().invoke(cli, args)
    assert json.loads(r2.stdout)["rank1"] == m["rank1"]


def test_eval_face_bad_dir(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["--home", str(tmp_path), "eval", "face", str(tmp_path / "x")])
    assert r.exit_code != 0 and "error:" in r.stderr


def test_eval_face_group_column_errors_are_one_line(tmp_path: Path) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("identity,sex,age\n7201,female,young\n")
    faces = tmp_path / "faces"  # the options are checked before any photo is read
    (faces / "7201").mkdir(parents=True)
    base = ["--home", str(tmp_path), "eval", "face", str(faces), "--groups", str(groups)]
    r = CliRunner().invoke(cli, [*base, "--group-column", "height"])
    assert r.exit_code != 0
    assert r.stderr.strip().count("\n") == 0 and "invalid_input" in r.stderr
    assert "no column 'height'" in r.stderr and "sex, age" in r.stderr
    r = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "eval", "face", str(faces), "--group-column", "age"]
    )
    assert r.exit_code != 0 and "--group-column needs --groups" in r.stderr
