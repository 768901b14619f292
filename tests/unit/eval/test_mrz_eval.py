from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fortify.cli.__main__ import cli

DOCS = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "documents").resolve()


def test_eval_mrz_json_on_two_specimens(tmp_path: Path) -> None:
    src = DOCS / "specimens-fastmrz"
    if not src.is_dir():
        pytest.skip(f"evaluation data not found at {DOCS}")
    data = tmp_path / "docs"
    data.mkdir()
    for name in ("passport_uk.jpg", "nomrz.jpg", "ground_truth.json"):
        shutil.copy(src / name, data / name)
    r = CliRunner().invoke(cli, ["eval", "mrz", str(data), "--json", "--no-passporteye"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["n"] == 2 and m["valid_read_rate"] == 1.0
    assert m["fortify"]["exact_with_truth"] == 1 and m["fortify"]["negatives_rejected"] == 1
    uk = next(x for x in m["images"] if x["image"] == "passport_uk.jpg")
    assert uk["fortify"]["lines_exact"] and all(uk["fortify"]["checks"].values())
