"""CLI: `.pgm` eval folders, one-line errors, an 80-column bench table, install (item 13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from rich.console import Console

from fortify.cli.__main__ import cli
from fortify.cli.bench import COLUMNS, split_tables
from tests.conftest import ROOT

People = list[tuple[str, list[Path]]]


@pytest.mark.slow
def test_eval_face_on_pgm_folder(tmp_path: Path, people: People) -> None:
    root = tmp_path / "orl-like"
    for ref, files in people[:6]:
        (root / ref).mkdir(parents=True)
        for i, f in enumerate(files[:2]):
            Image.open(f).convert("L").save(root / ref / f"{i + 1}.pgm")
    args = ["--home", str(tmp_path / "home"), "eval", "face", str(root), "--json"]
    r = CliRunner().invoke(cli, [*args, "--workers", "1", "--no-cache"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["protocol"]["gallery_identities"] > 0 and m["n_mated"] > 0


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "a" / "notes.txt").write_text("not an image")
    r = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "eval", "face", str(empty)])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid_input: no identity folders")
    assert ".pgm" in lines[0] and "Traceback" not in r.output


def test_bench_table_fits_80_columns() -> None:
    row = {key: 123456.789 for _, key in COLUMNS}
    row.update({"n": 10_000_000, "index": "IVF4096,PQ32x4fs,RFlat", "recall1": 0.99})
    console = Console(width=80, record=True, force_terminal=False)
    tables = split_tables([row, row], 80)
    assert len(tables) > 1
    for t in tables:
        console.print(t)
    out = console.export_text()
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    shown = set(re.findall(r"R@1 identity|restart s|batch QPS|x NumPy", out))
    assert shown == {"R@1 identity", "restart s", "batch QPS", "x NumPy"}


def test_install_dev_runs_e2e_setup_and_ci_runs_the_readme_command() -> None:
    readme_cmd = "bash scripts/install.sh --dev && .venv/bin/python -m pytest -q"
    assert readme_cmd in (ROOT / "README.md").read_text()
    install = (ROOT / "scripts" / "install.sh").read_text()
    assert re.search(r'if \[ "\$\{1:-\}" = "--dev" \]; then\s+bash scripts/setup_e2e.sh', install)
    assert readme_cmd in (ROOT / ".ci" / "run").read_text()
