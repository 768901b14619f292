"""Modality-agnostic biometric evaluation: open-set 1:N and 1:1 metrics on score arrays.

Terminology follows ISO/IEC 19795-1 and NIST FRTE 1:N (FPIR, FNIR, FMR, FNMR, rank-k).
Plotting lives in :mod:`fortify.eval.plots` and imports matplotlib only when called.
"""

from __future__ import annotations

from fortify.eval.det import DetCurve, det_curve, identification_det, verification_det
from fortify.eval.groups import GroupResult, PerGroupResult, per_group
from fortify.eval.metrics import (
    FmrTable,
    OpenSetResult,
    OperatingPoint,
    VerificationResult,
    estimate_fmr,
    open_set_identification,
    score_to_fpr_table,
    verification_rates,
)
from fortify.eval.protocol import OpenSetSplit, all_pairs, list_identities, split_open_set

__all__ = [
    "DetCurve",
    "FmrTable",
    "GroupResult",
    "OpenSetResult",
    "OpenSetSplit",
    "OperatingPoint",
    "PerGroupResult",
    "VerificationResult",
    "all_pairs",
    "det_curve",
    "estimate_fmr",
    "identification_det",
    "list_identities",
    "open_set_identification",
    "per_group",
    "score_to_fpr_table",
    "split_open_set",
    "verification_det",
    "verification_rates",
]
