"""The normal tail: fitted on a table's body, it takes over the far tail of a calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fortify.errors import ConfigError
from fortify.eval.metrics import score_to_fpr_table
from fortify.matching.calibration import Calibration, load_calibration, save_calibration
from fortify.matching.normal_tail import NormalTail, fit_normal_tail

SD = 0.1


def _noisy_impostors() -> np.ndarray:
    """2M normal impostor scores (sd 0.1) plus 60 "impostors" at genuine scores: one person
    filed under two names, as in evaluation data."""
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(0.0, SD, 2_000_000), rng.normal(0.8, 0.03, 60)]


def test_fit_recovers_a_normal_tail_despite_label_noise() -> None:
    table = score_to_fpr_table(_noisy_impostors())
    t = fit_normal_tail(table)
    assert t is not None and t.max_residual < 0.1
    # the true score at FMR 1e-6 / 1e-9 of N(0, 0.1): 0.475 / 0.600
    assert t.score_at(1e-6) == pytest.approx(0.475, abs=0.02)
    assert t.score_at(1e-9) == pytest.approx(0.600, abs=0.03)
    assert float(t.fmr([t.score_at(1e-6)])[0]) == pytest.approx(1e-6, rel=1e-6)
    # the table itself reads the noise: above FMR 3e-5 it is all genuine scores
    assert table.scores[-1] > 0.8
    assert NormalTail.from_dict(t.to_dict()) == t


def test_calibration_uses_the_tail_beyond_the_join_only() -> None:
    table = score_to_fpr_table(_noisy_impostors())
    t = fit_normal_tail(table)
    assert t is not None
    old, new = Calibration("m", table, "", {}), Calibration("m", table, "", {}, None, t)
    for n in (1, 10):  # per-comparison FMR 1e-2, 1e-3: the table's body, unchanged
        assert new.threshold(0.01, n) == old.threshold(0.01, n)
    t_old, _ = old.threshold(0.01, 10_000)  # FMR 1e-6: the noise sets the old threshold
    t_new, limited = new.threshold(0.01, 10_000)
    assert t_old > 0.7 and t_new == pytest.approx(0.475, abs=0.02) and not limited
    t_far, limited = new.threshold(0.01, 10**9)  # beyond 2M pairs: extrapolated, and said
    assert t_far > t_new and limited
    for n in (1_000, 10_000):
        thr, _ = new.threshold(0.01, n)
        assert new.fpir(thr, n) == pytest.approx(0.01, rel=0.05)
    # a candidate's estimate never claims a rate below what 2M pairs resolve: past the
    # data the threshold extrapolates, the estimate stays a cautious bound
    assert new.fmr(5.0) == table.floor and new.fpir(t_far, 10**9) > 0.01


def test_too_few_impostors_or_bad_arguments() -> None:
    small = score_to_fpr_table(np.random.default_rng(1).normal(0, SD, 50))
    assert fit_normal_tail(small) is None
    with pytest.raises(ValueError):
        fit_normal_tail(small, lo_fmr=0.1, hi_fmr=0.01)


def test_saved_and_loaded_with_the_calibration(tmp_path: Path) -> None:
    table = score_to_fpr_table(_noisy_impostors())
    t = fit_normal_tail(table)
    save_calibration(tmp_path / "m.json", "m", table, {}, None, t)
    assert load_calibration("m", tmp_path).normal_tail == t
    data = json.loads((tmp_path / "m.json").read_text())
    data["normal_tail"]["b"] = -1.0  # a tail that rises with the score is refused
    (tmp_path / "bad.json").write_text(json.dumps({**data, "model_id": "bad"}))
    with pytest.raises(ConfigError):
        load_calibration("bad", tmp_path)


def test_default_model_ships_a_tail_that_keeps_small_galleries_as_they_were() -> None:
    cal = load_calibration("edgeface-s-v2")
    assert cal.normal_tail is not None and cal.normal_tail.max_residual < 0.05
    assert cal.threshold(0.01, 100)[0] == pytest.approx(0.433, abs=0.002)
    assert 0.5 < cal.threshold(0.01, 10_000)[0] < 0.6  # was 0.856, set by label noise


def test_decide_names_the_estimate_that_set_the_threshold() -> None:
    table = score_to_fpr_table(_noisy_impostors())
    cal = Calibration("m", table, "", {}, None, fit_normal_tail(table))
    assert cal.decide(0.01, 10)[2] == "pooled"
    assert cal.decide(0.01, 10_000)[2] == "normal_tail"
    assert cal.decide(0.01, 10_000)[:2] == cal.threshold(0.01, 10_000)
    shipped = load_calibration("edgeface-s-v2")
    assert shipped.decide(0.01, 100)[2] == "per_probe"
    assert shipped.decide(0.01, 10**6)[2] == "normal_tail"


def test_no_rate_below_the_floor() -> None:
    from fortify.matching.normal_tail import FLOOR

    t = fit_normal_tail(score_to_fpr_table(_noisy_impostors()))
    assert t is not None
    assert float(t.fmr([5.0])[0]) == FLOOR and t.score_at(1e-30) == t.score_at(FLOOR)
