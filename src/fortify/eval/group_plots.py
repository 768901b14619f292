"""Per-group error rates against the threshold, one threshold for everybody (a plot).

In the manner of NIST's demographic reports: FNIR (left) and FPIR (right) of each group as
the threshold moves, with the global threshold (set on all probes at the FPIR target)
drawn across both. Where the curves of two groups part at that line, one group pays more
misses or more false leads than the other at the setting everybody shares.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fortify.eval.bootstrap import Probes
from fortify.eval.plots import mark_x

logger = logging.getLogger(__name__)


def group_rate_curves(
    mated: Probes, nonmated: Probes, groups: Sequence[str], thresholds: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """group -> (FNIR, FPIR) at each threshold (a hit is a mated score ``>= t``)."""
    out = {}
    for g in groups:
        m = np.sort(mated.scores[mated.groups == g])
        n = np.sort(nonmated.scores[nonmated.groups == g])
        fnir = np.searchsorted(m, thresholds, side="left") / max(1, m.size)
        fpir = (n.size - np.searchsorted(n, thresholds, side="left")) / max(1, n.size)
        out[g] = (fnir, fpir)
    return out


def plot_group_rates(
    mated: Probes,
    nonmated: Probes,
    groups: Sequence[str],
    threshold: float,
    path: Path,
    title: str,
) -> list[Path]:
    """Write the two-panel plot to ``path`` (``.png``); returns the files written."""
    if not groups:
        raise ValueError("plot_group_rates needs at least one group")
    finite = np.concatenate([mated.scores, nonmated.scores])
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    t = np.linspace(lo, hi, 400)
    curves = group_rate_curves(mated, nonmated, groups, t)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax_fn, ax_fp = fig.subplots(1, 2)
    for g, (fnir, fpir) in curves.items():
        n_m = int(np.count_nonzero(mated.groups == g))
        n_n = int(np.count_nonzero(nonmated.groups == g))
        ax_fn.plot(t[fnir > 0], fnir[fnir > 0], label=f"{g} ({n_m} mated)", linewidth=1.5)
        shown = fpir > 0
        ax_fp.plot(t[shown], fpir[shown], label=f"{g} ({n_n} non-mated)", linewidth=1.5)
    for ax, name in ((ax_fn, "FNIR (miss rate)"), (ax_fp, "FPIR (false positive rate)")):
        if np.isfinite(threshold):
            mark_x(ax, threshold, "global threshold", linestyle="--")
        ax.set_xlabel("threshold (score)")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.4)
        ax.legend(loc="best", fontsize=8)
    ax_fn.set_yscale("log", nonpositive="mask")
    ax_fp.set_yscale("log", nonpositive="mask")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path).with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    logger.info("wrote per-group plot %s", path)
    return [path]
