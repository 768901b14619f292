"""Score fusion: Fisher's combination of calibrated impostor tails, one ranking, one FPIR."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from fortify.eval.metrics import FmrTable
from fortify.matching.calibration import Calibration
from fortify.matching.fusion import ModalityScores, fisher_tail, fpir_at, fuse


def _cal(model_id: str, lo: float, hi: float) -> Calibration:
    """A table whose FMR falls log-linearly from 1 at ``lo`` to 1e-4 at ``hi``."""
    scores = np.linspace(lo, hi, 9)
    fmr = np.logspace(0, -4, 9)
    return Calibration(model_id, FmrTable(scores, fmr, 9999), "test", {})


FACE = _cal("face-test", 0.2, 0.8)
FINGER = _cal("finger-test", 0.01, 0.2)


def _cand(iid: str, score: float, rank: int = 1) -> dict[str, object]:
    return {"identity_id": iid, "reference": f"ref-{iid}", "score": score, "rank": rank}


def test_fisher_tail_single_is_identity_and_two_is_closed_form() -> None:
    assert fisher_tail([0.01]) == pytest.approx(0.01)
    x = 0.01 * 0.02
    assert fisher_tail([0.01, 0.02]) == pytest.approx(x * (1 - math.log(x)))
    assert fisher_tail([]) == 1.0 and fisher_tail([1.0, 1.0]) == 1.0


def test_fisher_tail_is_a_tail_probability_under_independence() -> None:
    rng = random.Random(7)
    draws = [fisher_tail([rng.random(), rng.random()]) for _ in range(20000)]
    for alpha in (0.01, 0.05, 0.2):
        frac = sum(d <= alpha for d in draws) / len(draws)
        assert frac == pytest.approx(alpha, abs=0.01)


def test_fpir_at_gallery_size() -> None:
    assert fpir_at(1e-6, 1) == pytest.approx(1e-6)
    assert fpir_at(1e-6, 1000) == pytest.approx(1 - (1 - 1e-6) ** 1000)
    assert fpir_at(1.0, 10) == pytest.approx(1.0)


def test_agreeing_modalities_rank_first_with_lower_fpir() -> None:
    r = fuse(
        {
            "face": ModalityScores(FACE, [_cand("a", 0.65), _cand("b", 0.6, 2)], 100),
            "finger": ModalityScores(FINGER, [_cand("a", 0.15)], 80),
        },
        top_k=5,
        target_fpir=0.01,
    )
    assert r["modalities"] == ["face", "finger"] and r["gallery_size"] == 100
    a, b = r["candidates"]
    assert a["identity_id"] == "a" and a["rank"] == 1 and b["rank"] == 2
    assert a["modalities_matched"] == ["face", "finger"] and b["modalities_matched"] == ["face"]
    assert a["estimated_fpir"] < b["estimated_fpir"]
    face_only = fpir_at(FACE.fmr(0.65), 100)
    assert a["estimated_fpir"] < face_only  # the finger adds evidence
    assert a["by_modality"]["finger"]["fmr"] == pytest.approx(FINGER.fmr(0.15), rel=1e-2)
    assert "independent" in r["assumption"] and r["decision"] == "candidates"
    assert isinstance(a["meets_target"], bool)


def test_disagreeing_modalities_keep_both_and_top_k() -> None:
    r = fuse(
        {
            "face": ModalityScores(FACE, [_cand("a", 0.7)], 50),
            "finger": ModalityScores(FINGER, [_cand("b", 0.19), _cand("c", 0.05, 2)], 50),
        },
        top_k=2,
    )
    ids = [c["identity_id"] for c in r["candidates"]]
    assert len(ids) == 2 and set(ids) <= {"a", "b", "c"} and "c" not in ids
    assert "meets_target" not in r["candidates"][0]


def test_no_candidates_anywhere() -> None:
    r = fuse({"face": ModalityScores(FACE, [], 10), "finger": ModalityScores(FINGER, [], 10)}, 3)
    assert r["decision"] == "no_candidate" and r["candidates"] == []
