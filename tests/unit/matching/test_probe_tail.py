"""The per-probe impostor tail: one probe that reaches many photos is one false positive."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from fortify.errors import ConfigError
from fortify.eval.metrics import score_to_fpr_table
from fortify.matching.calibration import Calibration, load_calibration, save_calibration
from fortify.matching.probe_tail import ProbeTail, probe_tail


def _hub_data(people: int = 60) -> tuple[np.ndarray, list[str]]:
    """Near-orthogonal unit templates, two per person, plus one 'hub' photo that is close
    to every other photo (a tiny, blurred face)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2 * people, 16384))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = [f"p{i // 2}" for i in range(2 * people)]
    hub = x.mean(axis=0)
    hub /= np.linalg.norm(hub)
    return np.vstack([x, hub]), [*labels, "hub"]


def test_a_hub_probe_counts_once_the_pooled_estimate_many_times() -> None:
    x, labels = _hub_data()
    knots = np.array([0.0, 0.045, 0.2, 0.5])
    tail = probe_tail(x, labels, knots)
    n_probes = len(x)
    assert tail.n_probes == n_probes and tail.max_size == n_probes - 2  # others per probe
    # at 0.045 only the hub's pairs pass: the hub itself (every comparison) and each other
    # photo once (its comparison with the hub)
    g = x @ x.T
    other = np.array(labels, dtype=object)[:, None] != np.array(labels, dtype=object)[None, :]
    assert (g[other] >= 0.045).sum() == 2 * (n_probes - 1)
    n = 30
    rates = np.array([(g[i][other[i]] >= 0.045).mean() for i in range(n_probes)])
    want = float(np.mean(1 - (1 - rates) ** n))
    assert tail.fpir_at([0.045], n)[0] == pytest.approx(want, rel=1e-3)
    pooled = 1 - (1 - rates.mean()) ** n
    assert tail.fpir_at([0.045], n)[0] < pooled  # never above the pooled estimate


def test_threshold_interpolates_between_sizes_and_is_monotone() -> None:
    x, labels = _hub_data()
    table = score_to_fpr_table((x @ x.T)[np.triu_indices(len(x), 1)])
    tail = probe_tail(x, labels, table.scores)
    cal = Calibration("m", table, "test", {}, tail)
    thr = [cal.threshold(0.1, n)[0] for n in (1, 5, 20, 60, tail.max_size)]
    assert thr == sorted(thr)
    assert cal.basis(tail.max_size) == "per_probe" and cal.basis(tail.max_size + 1) == "pooled"
    # beyond the sizes it speaks for, the pooled estimate (more cautious) is used
    n = tail.max_size + 1
    per_comparison = -math.expm1(math.log1p(-0.1) / n)
    ok = np.nonzero(table.fmr <= per_comparison)[0]
    assert cal.threshold(0.1, n) == (float(table.scores[ok[0]]), False)
    # a target below what the probes resolve says so
    assert cal.threshold(1e-6, 10)[1] is True


def test_saved_and_loaded_and_validated(tmp_path: Path) -> None:
    x, labels = _hub_data(20)
    table = score_to_fpr_table((x @ x.T)[np.triu_indices(len(x), 1)])
    tail = probe_tail(x, labels, table.scores)
    save_calibration(tmp_path / "m1.json", "m1", table, {"data": "test"}, tail)
    cal = load_calibration("m1", tmp_path)
    assert cal.tail is not None and cal.basis(5) == "per_probe"
    assert cal.threshold(0.1, 5)[0] == pytest.approx(tail.threshold(0.1, 5)[0], abs=1e-6)
    data = json.loads((tmp_path / "m1.json").read_text())
    data["probe_tail"]["fpir"] = data["probe_tail"]["fpir"][:-1]  # a row short
    (tmp_path / "m2.json").write_text(json.dumps({**data, "model_id": "m2"}))
    with pytest.raises(ConfigError, match="malformed probe tail"):
        load_calibration("m2", tmp_path)
    del data["probe_tail"]  # an older table: pooled only
    (tmp_path / "m3.json").write_text(json.dumps({**data, "model_id": "m3"}))
    old = load_calibration("m3", tmp_path)
    assert old.tail is None and old.basis(5) == "pooled"


def test_shipped_default_calibration_has_a_probe_tail() -> None:
    cal = load_calibration("edgeface-s-v1")
    assert isinstance(cal.tail, ProbeTail) and cal.tail.max_size > 1000
    assert cal.basis(600) == "per_probe"
    # per probe it is less strict than pooled, never more
    pooled = Calibration("x", cal.table, "", {})
    for n in (10, 100, 1000):
        assert cal.threshold(0.01, n)[0] <= pooled.threshold(0.01, n)[0]
