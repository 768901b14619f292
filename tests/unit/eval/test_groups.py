"""Per-group metrics at one global threshold, on tiny hand-checked score arrays."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from fortify.eval.groups import per_group


def test_per_group_hand_checked() -> None:
    # Group A non-mated: 0.9, 0.1, 0.1, 0.1 ; group B: 0.2 x 4 -> global FPIR 0.125 allows one.
    res = per_group(
        mated_scores=[0.95, 0.5, 0.99, 0.15],
        mated_ranks=[1, 1, 1, 1],
        mated_groups=["A", "A", "B", "B"],
        nonmated_top_scores=[0.9, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2],
        nonmated_groups=["A"] * 4 + ["B"] * 4,
        global_fpir_target=0.125,
        fpir_targets=(0.25,),
        failed_mated_groups=["C"],
        min_mated=2,
        min_nonmated=4,
    )
    assert res.global_threshold == np.nextafter(0.2, 1.0)
    a, b, c = res.groups["A"], res.groups["B"], res.groups["C"]
    assert a.fpir_at_global_threshold == pytest.approx(0.25) and a.fnir_at_global_threshold == 0.0
    assert b.fpir_at_global_threshold == 0.0 and b.fnir_at_global_threshold == pytest.approx(0.5)
    assert c.low_sample and c.open_set is None and c.fnir_at_global_threshold == 1.0
    assert a.open_set is not None and a.open_set.n_nonmated == 4
    assert res.worst_fpir_group == "A" and res.best_fpir_group == "B"
    assert res.fpir_ratio_worst_to_best == math.inf
    d = res.to_dict()
    # best group B has no false positive: a one-event floor (1/4) bounds the ratio, with counts
    assert d["fpir_ratio_worst_to_best"] == pytest.approx(0.25 / 0.25)
    assert d["fpir_ratio_is_lower_bound"] is True
    assert d["false_positives_worst"] == 1 and d["false_positives_best"] == 0
    assert set(d["groups"]) == {"A", "B", "C"}
    json.dumps(d, allow_nan=False)


def test_per_group_ratio_and_label_checks() -> None:
    res = per_group(
        [0.9, 0.9],
        [1, 1],
        [1, 2],
        [0.8, 0.1, 0.8, 0.8, 0.1, 0.1],
        [1, 1, 2, 2, 2, 2],
        global_fpir_target=0.5,
        min_mated=1,
        min_nonmated=2,
    )
    assert res.groups["1"].fpir_at_global_threshold == pytest.approx(0.5)
    assert res.fpir_ratio_worst_to_best == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mated_groups"):
        per_group([0.9], [1], ["a", "b"], [0.1], ["a"])


def test_read_groups_by_column(tmp_path: Path) -> None:
    from fortify.errors import InvalidInput
    from fortify.eval.face import read_groups

    f = tmp_path / "g.csv"
    f.write_text("identity,sex,age\n1,female,young\n2,male,\n3,male,older\n")
    assert read_groups(f) == {"1": "female", "2": "male", "3": "male"}
    # an empty label is no label: that identity counts as unknown
    assert read_groups(f, "age") == {"1": "young", "3": "older"}
    assert read_groups(f, "AGE") == read_groups(f, "age")
    with pytest.raises(InvalidInput, match="no column 'height'"):
        read_groups(f, "height")
    (tmp_path / "n.csv").write_text("1,a\n2,b\n")
    assert read_groups(tmp_path / "n.csv") == {"1": "a", "2": "b"}
    with pytest.raises(InvalidInput, match="no header row"):
        read_groups(tmp_path / "n.csv", "sex")
    with pytest.raises(InvalidInput, match="cannot read"):
        read_groups(tmp_path / "missing.csv")
