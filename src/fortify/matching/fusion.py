"""Score-level fusion of several modalities of one encounter into one ranking.

Each modality's score is turned into its impostor tail probability
``p = FMR_m(s)`` from that modality's calibration table (the chance that one
non-mated comparison scores ``s`` or more). Its evidence is ``-ln p``, the
log-likelihood ratio against a flat genuine density (the z-score-like quantity
each table supports without genuine data). Per identity the evidence is summed
over the modalities, and the fused per-comparison tail is Fisher's combination
of the ``k`` tail probabilities::

    x = prod_m p_m,        P(fused >= observed) = x * sum_{j<k} (-ln x)**j / j!

which is exact when the modalities' impostor scores are independent (face and
finger of one non-mated identity: different traits, different sensors and
matchers; shared causes such as poor capture conditions make them correlated
in practice, so the estimate is an assumption, stated with every result). The
fused FPIR at a gallery of ``N`` identities is ``1 - (1 - P) ** N``, as for one
modality (see :mod:`fortify.matching.calibration`).

An identity missing from a modality's candidate list (below that modality's
threshold or not enrolled in it) gets ``p = 1``: no evidence from it. This only
ever overstates the fused FPIR, the cautious side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fortify.matching.calibration import Calibration

METHOD = "fisher-impostor-tail"
ASSUMPTION = (
    "Modalities' impostor scores assumed independent; a modality without a score "
    "for a candidate counts as no evidence (tail probability 1)."
)


@dataclass(frozen=True)
class ModalityScores:
    """One modality's ranked candidates and the calibration that reads its scores."""

    calibration: Calibration
    candidates: Sequence[Mapping[str, Any]]
    gallery_size: int


def fisher_tail(tails: Sequence[float]) -> float:
    """P(product of k independent uniform tail probabilities <= prod(tails))."""
    k = len(tails)
    if k == 0:
        return 1.0
    logs = [math.log(min(1.0, max(t, 1e-300))) for t in tails]
    s = -sum(logs)  # -ln x >= 0
    if s <= 0.0:
        return 1.0
    term, total = 1.0, 1.0
    for j in range(1, k):
        term *= s / j
        total += term
    return float(min(1.0, math.exp(-s) * total))


def fpir_at(tail: float, gallery_size: int) -> float:
    """1 - (1 - tail) ** N without underflow."""
    n = max(1, gallery_size)
    return float(-math.expm1(n * math.log1p(-min(tail, 1 - 1e-15))))


def fuse(
    modalities: Mapping[str, ModalityScores], top_k: int, target_fpir: float | None = None
) -> dict[str, Any]:
    """One ranking over the identities any modality returned, with one FPIR each."""
    names = sorted(modalities)
    gallery = max((m.gallery_size for m in modalities.values()), default=1)
    per: dict[str, dict[str, Any]] = {}
    for name in names:
        mod = modalities[name]
        for c in mod.candidates:
            iid = str(c["identity_id"])
            entry = per.setdefault(
                iid,
                {
                    "identity_id": iid,
                    "reference": c.get("reference"),
                    "display_name": c.get("display_name"),
                    "synthetic": c.get("synthetic"),
                    "photo_url": c.get("photo_url"),
                    "by_modality": {},
                },
            )
            score = float(c["score"])
            tail = mod.calibration.fmr(score)
            entry["by_modality"][name] = {
                "score": score,
                "rank": c.get("rank"),
                "fmr": float(f"{tail:.3g}"),
                "evidence": round(-math.log(tail), 3),
            }
    ranked: list[dict[str, Any]] = []
    for entry in per.values():
        tails = [
            entry["by_modality"][n]["fmr"] if n in entry["by_modality"] else 1.0 for n in names
        ]
        tail = fisher_tail(tails)
        fpir = fpir_at(tail, gallery)
        entry.update(
            evidence=round(sum(-math.log(t) for t in tails), 3),
            fused_fmr=float(f"{tail:.3g}"),
            estimated_fpir=float(f"{fpir:.3g}"),
            modalities_matched=sorted(entry["by_modality"]),
        )
        if target_fpir is not None:
            entry["meets_target"] = fpir <= target_fpir
        ranked.append(entry)
    ranked.sort(key=lambda e: (e["fused_fmr"], -e["evidence"], e["identity_id"]))
    ranked = ranked[: max(1, top_k)]
    for i, e in enumerate(ranked, 1):
        e["rank"] = i
    return {
        "method": METHOD,
        "assumption": ASSUMPTION,
        "modalities": names,
        "models": {n: modalities[n].calibration.model_id for n in names},
        "gallery_size": gallery,
        "target_fpir": target_fpir,
        "decision": "candidates" if ranked else "no_candidate",
        "candidates": ranked,
    }
