"""Metrics on tiny hand-checked score arrays."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fortify.eval.det import det_curve, identification_det, verification_det
from fortify.eval.metrics import (
    FmrTable,
    estimate_fmr,
    open_set_identification,
    score_to_fpr_table,
    verification_rates,
)

# 4 returned mated probes + 1 failure; 5 non-mated probes.
MATED = [0.9, 0.8, 0.7, -np.inf]
RANKS = [1, 1, 2, 0]
NONMATED = [0.1, 0.5, 0.6, 0.75, 0.2]


def test_open_set_hand_checked() -> None:
    r = open_set_identification(MATED, RANKS, NONMATED, (0.2, 0.4, 0.1), n_failed_mated=1)
    assert r.n_mated == 5 and r.n_nonmated == 5
    assert r.rank1 == pytest.approx(2 / 5)
    assert r.rank_k[5] == pytest.approx(3 / 5) and r.rank_k[10] == pytest.approx(3 / 5)
    assert r.failure_to_acquire == pytest.approx(1 / 10)
    # FPIR 0.2 of 5 -> one non-mated may pass: reject 0.6, accept 0.75.
    op = r.at_fpir(0.2)
    assert op.threshold == np.nextafter(0.6, 1.0)
    assert op.false_positive_rate == pytest.approx(0.2)
    assert op.false_negative_rate == pytest.approx(3 / 5)  # only 0.9 and 0.8 are rank-1 hits
    assert not op.resolution_limited
    op = r.at_fpir(0.4)
    assert op.threshold == np.nextafter(0.5, 1.0) and op.false_positive_rate == pytest.approx(0.4)
    # 0.1 < 1/5: resolution limited, threshold just above the best non-mated score.
    op = r.at_fpir(0.1)
    assert op.resolution_limited
    assert op.threshold == np.nextafter(0.75, 1.0) and op.false_positive_rate == 0.0
    assert op.false_negative_rate == pytest.approx(3 / 5)


def test_open_set_rank_parameter_counts_rank2_hits() -> None:
    r = open_set_identification(MATED, RANKS, NONMATED, (0.4,), n_failed_mated=1, rank=5)
    assert r.at_fpir(0.4).false_negative_rate == pytest.approx(2 / 5)  # 0.9, 0.8, 0.7 hit
    assert r.to_dict()["fnir_rank"] == 5


def test_open_set_threshold_rises_above_tied_scores() -> None:
    r = open_set_identification([0.5, 0.6], [1, 1], [0.5, 0.5, 0.5, 0.1], (0.5,))
    op = r.at_fpir(0.5)
    assert op.threshold > 0.5 and op.false_positive_rate == 0.0
    assert op.false_negative_rate == pytest.approx(0.5)  # the tie at 0.5 is rejected


def test_open_set_target_resolution_uses_tolerance() -> None:
    nonmated = np.arange(100) / 100.0
    op = open_set_identification([1.0], [1], nonmated, (0.29,)).at_fpir(0.29)
    assert op.false_positive_rate == pytest.approx(0.29)  # 0.29 * 100 = 28.999999...


def test_nonmated_failures_are_in_denominator_only() -> None:
    r = open_set_identification([0.9, 0.1], [1, 1], [0.95], (0.1,), n_failed_nonmated=9)
    op = r.at_fpir(0.1)
    assert r.n_nonmated == 10
    assert op.threshold == -math.inf and op.false_positive_rate == pytest.approx(0.1)
    assert op.false_negative_rate == 0.0
    assert r.to_dict()["threshold_at_fpir_0.1"] is None


def test_all_mated_failed_is_a_full_miss() -> None:
    r = open_set_identification([], [], [0.3, 0.4], n_failed_mated=3)
    assert r.rank1 == 0.0 and r.n_mated == 3
    assert all(op.false_negative_rate == 1.0 for op in r.operating_points)


def test_nan_scores_never_match() -> None:
    r = open_set_identification([np.nan, 0.9], [1, 1], [np.nan, 0.2], (0.5,))
    op = r.at_fpir(0.5)
    assert op.threshold == -math.inf  # only one real non-mated score, one may pass
    assert op.false_positive_rate == pytest.approx(0.5)
    assert op.false_negative_rate == pytest.approx(0.5)


def test_open_set_dict_keys_and_json() -> None:
    d = open_set_identification(MATED, RANKS, NONMATED, n_failed_mated=1).to_dict()
    for key in (
        "rank1",
        "rank5",
        "rank10",
        "fnir_at_fpir_0.1",
        "fnir_at_fpir_0.01",
        "fnir_at_fpir_0.001",
        "threshold_at_fpir_0.1",
        "threshold_at_fpir_0.01",
        "threshold_at_fpir_0.001",
        "resolution_limited_at_fpir_0.001",
        "failure_to_acquire",
        "n_mated",
        "n_nonmated",
    ):
        assert key in d
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mated_scores": [], "mated_ranks": []}, "no mated"),
        ({"nonmated_top_scores": []}, "no non-mated"),
        ({"mated_ranks": [1]}, "differ in length"),
        ({"fpir_targets": (0.0,)}, "fpir_targets"),
        ({"n_failed_mated": -1}, "n_failed_mated"),
        ({"rank": 0}, "rank"),
    ],
)
def test_open_set_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "mated_scores": [0.5, 0.7],
        "mated_ranks": [1, 1],
        "nonmated_top_scores": [0.2],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        open_set_identification(**args)  # type: ignore[arg-type]


def test_verification_hand_checked() -> None:
    v = verification_rates([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.65], (0.25, 0.01))
    assert v.eer == pytest.approx(0.25) and v.eer_threshold == pytest.approx(0.65)
    op = v.operating_points[0]
    assert op.threshold == np.nextafter(0.3, 1.0)
    assert op.false_positive_rate == pytest.approx(0.25) and op.false_negative_rate == 0.0
    op = v.operating_points[1]
    assert op.resolution_limited and op.false_negative_rate == pytest.approx(0.25)
    d = v.to_dict()
    assert {"eer", "fnmr_at_fmr_0.25", "threshold_at_fmr_0.01", "n_impostor"} <= d.keys()
    json.dumps(d, allow_nan=False)


def test_verification_eer_interpolates() -> None:
    # FNMR - FMR goes from -1/6 (T=0.5) to +1/3 (T=0.8): crossing 1/3 of the way.
    v = verification_rates([0.2, 0.8, 0.9], [0.1, 0.5])
    assert v.eer == pytest.approx(1 / 3) and v.eer_threshold == pytest.approx(0.6)
    assert verification_rates([0.8, 0.9], [0.1, 0.2]).eer == 0.0


def test_verification_rejects_empty() -> None:
    with pytest.raises(ValueError, match="genuine and impostor"):
        verification_rates([], [0.1])


def test_det_curve_small() -> None:
    c = det_curve([0.6, 0.7], [0.5, 0.65], max_points=None)
    np.testing.assert_allclose(c.thresholds[:-1], [0.5, 0.6, 0.65, 0.7])
    np.testing.assert_allclose(c.false_positive, [1.0, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(c.false_negative, [0.0, 0.0, 0.5, 0.5, 1.0])
    assert c.fnr_at(0.0) == 0.5 and c.kind == "verification"
    assert json.loads(json.dumps(c.to_dict()))["kind"] == "verification"


def test_identification_det_counts_failures() -> None:
    c = identification_det(MATED, RANKS, NONMATED, n_failed_mated=1, n_failed_nonmated=5)
    assert c.kind == "identification"
    assert c.false_positive[0] == pytest.approx(0.5)  # 5 of 10 non-mated at the lowest T
    assert c.false_negative.min() == pytest.approx(3 / 5)  # rank-2, -inf and failure miss
    assert c.false_positive[-1] == 0.0 and c.false_negative[-1] == 1.0


def test_det_matches_open_set_and_scales() -> None:
    rng = np.random.default_rng(0)
    mated = rng.normal(2.0, 1.0, 2000)
    ranks = rng.choice([1, 1, 1, 2], 2000)
    nonmated = rng.normal(0.0, 1.0, 200_000)
    r = open_set_identification(mated, ranks, nonmated, (0.01, 0.001))
    full = identification_det(mated, ranks, nonmated, max_points=None)
    for op in r.operating_points:
        assert full.fnr_at(op.target) == pytest.approx(op.false_negative_rate)
    thin = identification_det(mated, ranks, nonmated, max_points=300)
    assert thin.thresholds.size <= 300 and np.all(np.diff(thin.thresholds) > 0)
    assert np.all(np.diff(thin.false_positive) <= 0) and np.all(np.diff(thin.false_negative) >= 0)
    assert thin.false_positive[0] == full.false_positive[0]
    assert abs(thin.fnr_at(0.01) - r.at_fpir(0.01).false_negative_rate) < 0.02
    v = verification_det(mated, nonmated, max_points=100)
    assert v.kind == "verification" and v.false_negative[-1] == 1.0


def test_fmr_table_hand_checked_and_roundtrip() -> None:
    table = score_to_fpr_table([0.4, 0.1, 0.3, 0.2, np.nan])
    assert table.n_impostor == 4 and table.floor == pytest.approx(0.2)
    np.testing.assert_allclose(table.scores, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(table.fmr, [1.0, 0.8, 0.6, 0.4])
    assert estimate_fmr(0.3, table) == pytest.approx(0.6)
    assert estimate_fmr(0.0, table) == 1.0
    assert estimate_fmr(0.5, table) == pytest.approx(0.2)  # floor, never 0
    assert estimate_fmr(float("nan"), table) == 1.0
    assert 0.6 < estimate_fmr(0.25, table) < 0.8
    again = FmrTable.from_dict(json.loads(json.dumps(table.to_dict())))
    grid = np.linspace(-1, 1, 101)
    np.testing.assert_allclose(again.estimate_many(grid), table.estimate_many(grid))


def test_fmr_table_monotone_on_large_sample() -> None:
    scores = np.random.default_rng(1).normal(size=100_000)
    table = score_to_fpr_table(scores, n_points=64)
    assert table.scores.size <= 64
    est = table.estimate_many(np.linspace(-6, 6, 2001))
    assert np.all(np.diff(est) <= 1e-15) and est.min() == pytest.approx(1 / 100_001)
    assert estimate_fmr(2.0, table) == pytest.approx(np.mean(scores >= 2.0), rel=0.1)


def test_fmr_table_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="finite impostor"):
        score_to_fpr_table([np.nan])
    good = score_to_fpr_table([0.1, 0.2]).to_dict()
    with pytest.raises(ValueError, match="format"):
        FmrTable.from_dict({**good, "format": "other"})
    with pytest.raises(ValueError, match="malformed"):
        FmrTable.from_dict({**good, "fmr": [0.5, 1.0]})
