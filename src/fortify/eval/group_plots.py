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
from fortify.eval.det import DetCurve, det_curve
from fortify.eval.plots import mark_x

logger = logging.getLogger(__name__)


def group_rate_curves(
    mated: Probes, nonmated: Probes, groups: Sequence[str]
) -> dict[str, DetCurve]:
    """group -> its FNIR and FPIR at each threshold (:func:`fortify.eval.det.det_curve`:
    a mated probe is a hit, a non-mated one a false positive, at ``score >= T``)."""
    out = {}
    for g in groups:
        m, n = mated.scores[mated.groups == g], nonmated.scores[nonmated.groups == g]
        out[g] = det_curve(
            m,
            n,
            kind="identification",
            n_positive_total=max(1, m.size),
            n_negative_total=max(1, n.size),
            max_points=None,
        )
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
    curves = group_rate_curves(mated, nonmated, groups)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax_fn, ax_fp = fig.subplots(1, 2)
    for g, c in curves.items():
        t, fnir, fpir = c.thresholds, c.false_negative, c.false_positive
        n_m = int(np.count_nonzero(mated.groups == g))
        n_n = int(np.count_nonzero(nonmated.groups == g))
        # the rate at a threshold holds down to the previous one: steps-pre
        steps = {"linewidth": 1.5, "drawstyle": "steps-pre"}
        ax_fn.plot(t[fnir > 0], fnir[fnir > 0], label=f"{g} ({n_m} mated)", **steps)
        ax_fp.plot(t[fpir > 0], fpir[fpir > 0], label=f"{g} ({n_n} non-mated)", **steps)
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
