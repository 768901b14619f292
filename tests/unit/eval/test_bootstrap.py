"""Bootstrap intervals of the groups' worst/best ratios (resampling identities), and the
per-group rate curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fortify.eval.bootstrap import Probes, group_ratio_intervals
from fortify.eval.group_plots import group_rate_curves, plot_group_rates
from fortify.eval.groups import per_group
from fortify.eval.metrics import _mated_hits


def _side(rng: np.random.Generator, n_ids: int, per_id: int, miss: dict[str, float]) -> Probes:
    """``per_id`` probes of each identity; group a/b alternate by identity; a probe scores
    0.9 (accepted) or 0.1 (missed / no false positive) with its group's rate."""
    ids = np.repeat(np.arange(n_ids), per_id)
    groups = np.where(ids % 2 == 0, "a", "b")
    scores = np.array([0.1 if rng.random() < miss[g] else 0.9 for g in groups])
    return Probes.of(scores, ids.tolist(), groups.tolist())


def test_intervals_cover_a_real_gap_and_are_reproducible() -> None:
    rng = np.random.default_rng(1)
    mated = _side(rng, 200, 5, {"a": 0.3, "b": 0.1})  # FNIR ratio about 3
    nonmated = Probes.of(
        np.r_[np.full(997, 0.1), np.full(3, 0.95)],
        np.repeat(np.arange(200), 5).tolist(),
        np.where(np.repeat(np.arange(200), 5) % 2 == 0, "a", "b").tolist(),
    )
    ab = ("a", "b")
    r = group_ratio_intervals(mated, nonmated, fnir_pair=ab, fpir_pair=ab, resamples=300, seed=3)
    assert r.fnir is not None and r.fpir is not None
    lo, hi = r.fnir
    assert 1.5 < lo < 3.0 < hi < 6.0
    # the same gap read the other way round: the interval lies below one
    flipped = group_ratio_intervals(mated, nonmated, fnir_pair=("b", "a"), fpir_pair=None)
    assert flipped.fnir is not None and flipped.fnir[1] < 1.0 and flipped.fpir is None
    again = group_ratio_intervals(
        mated, nonmated, fnir_pair=ab, fpir_pair=ab, resamples=300, seed=3
    )
    assert again == r
    d = r.to_dict()
    assert d["unit"] == "identity" and d["level"] == 0.9 and len(d["fnir_ratio_interval"]) == 2
    json.dumps(d, allow_nan=False)


def test_identities_move_together() -> None:
    """One identity's probes are drawn as a block: with one identity per group, every
    resample holds either all of a group's probes or none."""
    p = Probes.of([0.1, 0.2, 0.3, 0.4], ["x", "x", "y", "y"], ["a", "a", "b", "b"])
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = p.draw(rng)
        assert w[0] == w[1] and w[2] == w[3] and w.sum() == 4


def test_no_interval_without_a_pair_or_resamples() -> None:
    p = Probes.of([0.9, 0.1], ["x", "y"], ["a", "a"])
    assert group_ratio_intervals(p, p, fnir_pair=None, fpir_pair=None).fnir is None
    ab = ("a", "b")
    none = group_ratio_intervals(p, p, fnir_pair=ab, fpir_pair=ab, resamples=0)
    assert none.to_dict()["fpir_ratio_interval"] is None
    with pytest.raises(ValueError, match="differ in length"):
        Probes.of([0.9], ["x", "y"], ["a"])


def test_failed_and_out_of_rank_probes_are_misses() -> None:
    hits = _mated_hits([0.9, 0.8, float("nan")], [1, 2, 10**9], 1)
    assert hits[0] == 0.9 and hits[1] == -np.inf and hits[2] == -np.inf


def test_fnir_ratio_and_unlabelled_group() -> None:
    res = per_group(
        mated_scores=[0.9, 0.1, 0.9, 0.9, 0.1, 0.1],
        mated_ranks=[1] * 6,
        mated_groups=["A", "A", "B", "B", "unknown", "unknown"],
        nonmated_top_scores=[0.1] * 6,
        nonmated_groups=["A", "A", "B", "B", "unknown", "unknown"],
        global_fpir_target=0.5,
        min_mated=1,
        min_nonmated=1,
    )
    # B has no miss: floored at one event (1/2), A misses 1 of 2 -> 0.5 / 0.5 = 1;
    # the unlabelled probes (FNIR 1.0) are reported but never rated
    assert res.fnir_ratio_worst_to_best == pytest.approx(1.0)
    assert res.worst_fnir_group == "A" and res.best_fnir_group == "B"
    assert not res.groups["unknown"].rated and res.groups["unknown"].fnir_at_global_threshold == 1
    assert res.to_dict()["groups"]["unknown"]["rated"] is False


def test_group_rate_curves_and_plot(tmp_path: Path) -> None:
    mated = Probes.of([0.2, 0.8, -np.inf, 0.9], ["x", "x", "y", "z"], ["a", "a", "b", "b"])
    nonmated = Probes.of([0.1, 0.7, 0.3, 0.3], ["u", "v", "w", "w"], ["a", "a", "b", "b"])
    c = group_rate_curves(mated, nonmated, ["a", "b"])

    def at(g: str) -> tuple[np.ndarray, np.ndarray]:  # the step curve at 0, 0.5 and 1
        t = c[g].thresholds
        i = np.minimum(np.searchsorted(t, [0.0, 0.5, 1.0], side="left"), t.size - 1)
        return c[g].false_negative[i], c[g].false_positive[i]

    fnir_a, fpir_a = at("a")
    assert fnir_a.tolist() == [0.0, 0.5, 1.0] and fpir_a.tolist() == [1.0, 0.5, 0.0]
    fnir_b, fpir_b = at("b")  # a failed capture is a miss at every threshold
    assert fnir_b.tolist() == [0.5, 0.5, 1.0] and fpir_b.tolist() == [1.0, 0.0, 0.0]
    (f,) = plot_group_rates(mated, nonmated, ["a", "b"], 0.5, tmp_path / "g.png", "t")
    assert f.stat().st_size > 1000
