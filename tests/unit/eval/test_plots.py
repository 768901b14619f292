"""DET plotting writes files and keeps matplotlib out of package import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fortify.eval.det import DetCurve, identification_det, verification_det
from fortify.eval.plots import plot_det


def _curves() -> dict[str, DetCurve]:
    rng = np.random.default_rng(0)
    nonmated = rng.normal(0, 1, 5000)
    return {
        "model-a": identification_det(rng.normal(2.5, 1, 500), np.ones(500), nonmated),
        "model-b": identification_det(rng.normal(3.5, 1, 500), np.ones(500), nonmated),
    }


def test_plot_det_png(tmp_path: Path) -> None:
    out = plot_det(_curves(), tmp_path / "sub" / "det.png", title="t")
    assert out == [tmp_path / "sub" / "det.png"]
    assert out[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_det_svg_also_writes_png(tmp_path: Path) -> None:
    out = plot_det(_curves(), tmp_path / "det.svg")
    assert sorted(p.name for p in out) == ["det.png", "det.svg"]
    assert b"<svg" in (tmp_path / "det.svg").read_bytes()[:2000]


def test_plot_det_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"writes \.png or \.svg"):
        plot_det(_curves(), tmp_path / "det.pdf")
    with pytest.raises(ValueError, match="at least one"):
        plot_det({}, tmp_path / "det.png")
    mixed = {"v": verification_det([0.9, 0.8], [0.1, 0.2]), **_curves()}
    with pytest.raises(ValueError, match="mix"):
        plot_det(mixed, tmp_path / "det.png")


def test_package_import_does_not_load_matplotlib() -> None:
    code = "import sys, fortify.eval, fortify.eval.plots; print('matplotlib' in sys.modules)"
    src = str(Path(__file__).resolve().parents[3] / "src")
    env_path = {**os.environ, "PYTHONPATH": src}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env_path
    )
    assert res.stdout.strip() == "False"
