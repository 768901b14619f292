from __future__ import annotations

import numpy as np
import pytest

from fortify.errors import ConfigError
from fortify.eval.metrics import score_to_fpr_table
from fortify.matching.calibration import (
    Calibration,
    load_calibration,
    save_calibration,
)


def _cal() -> Calibration:
    imp = np.random.default_rng(0).normal(0.8, 0.05, 200_000)
    return Calibration("m", score_to_fpr_table(imp), "test", {})


def test_threshold_rises_with_gallery_size() -> None:
    cal = _cal()
    t10, _ = cal.threshold(0.01, 10)
    t100, _ = cal.threshold(0.01, 100)
    t1k, limited = cal.threshold(0.01, 1_000)
    assert t10 < t100 < t1k
    assert limited is False
    _, lim = cal.threshold(0.01, 10**6)  # below what 200k impostor scores can resolve
    assert lim is True


def test_fpir_estimate_consistent_with_threshold() -> None:
    cal = _cal()
    for n in (10, 100, 1000):
        t, _ = cal.threshold(0.01, n)
        assert cal.fpir(t, n) == pytest.approx(0.01, rel=0.35)
        assert cal.fpir(t + 0.05, n) < cal.fpir(t, n) < cal.fpir(t - 0.05, n)


def test_packaged_calibration_loads() -> None:
    cal = load_calibration("dlib-resnet-v1")
    assert cal.table.n_impostor > 1_000_000
    t, _ = cal.threshold(0.01, 1000)
    assert 0.9 < t < 1.0


def test_save_and_reject_wrong_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cal = _cal()
    save_calibration(tmp_path / "x.json", "x", cal.table, {"note": "t"})
    assert load_calibration("x", tmp_path).meta == {"note": "t"}
    (tmp_path / "y.json").write_text((tmp_path / "x.json").read_text())
    with pytest.raises(ConfigError):
        load_calibration("y", tmp_path)
    with pytest.raises(ConfigError):
        load_calibration("missing", tmp_path)
