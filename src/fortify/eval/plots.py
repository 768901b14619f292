"""DET plots for comparing systems. Matplotlib is imported lazily, only when plotting."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fortify.eval.det import DetCurve

logger = logging.getLogger(__name__)

_LABELS = {
    "identification": ("FPIR (false positive identification rate)", "FNIR (miss rate)"),
    "verification": ("FMR (false match rate)", "FNMR (false non-match rate)"),
}


def mark_x(ax: Any, x: float, label: str, linestyle: str = ":") -> None:
    """A grey vertical line at ``x`` across ``ax``, labelled at its top."""
    ax.axvline(x, color="grey", linestyle=linestyle, linewidth=1)
    ax.annotate(
        label,
        (x, 1.0),
        xycoords=("data", "axes fraction"),
        textcoords="offset points",
        xytext=(2, -10),
        fontsize=8,
        color="grey",
    )


def plot_det(
    results: Mapping[str, DetCurve],
    path: Path,
    title: str = "DET",
    *,
    marks: Sequence[float] = (0.01, 0.001),
) -> list[Path]:
    """Draw one DET line per system on log-log axes and save it.

    The x axis is FPIR (or FMR), the y axis FNIR (or FNMR); points with a zero rate cannot
    be shown on log axes and are dropped. Each ``marks`` value gets a dotted vertical line and
    a marker on every curve. A PNG is always written (``path`` with suffix ``.png``); when
    ``path`` ends in ``.svg`` an SVG is written there too. Returns the files written.

    Uses the Agg canvas on a standalone ``Figure``: no global backend switch, no pyplot.
    """
    if not results:
        raise ValueError("plot_det needs at least one curve")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".png", ".svg"}:
        raise ValueError(f"plot_det writes .png or .svg, got {path.name!r}")
    kinds = {curve.kind for curve in results.values()}
    if len(kinds) != 1:
        raise ValueError(f"cannot mix identification and verification curves: {sorted(kinds)}")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 5.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xlabel, ylabel = _LABELS[kinds.pop()]
    x_lows: list[float] = []
    y_lows: list[float] = []
    for name, curve in results.items():
        fp, fn = curve.false_positive, curve.false_negative
        shown = (fp > 0) & (fn > 0)
        if shown.any():
            x_lows.append(float(fp[shown].min()))
            y_lows.append(float(fn[shown].min()))
        (line,) = ax.plot(fp[shown], fn[shown], label=name, linewidth=1.5, drawstyle="steps-post")
        for target in marks:
            y = curve.fnr_at(target)
            if y > 0:
                ax.plot([target], [y], marker="o", color=line.get_color(), markersize=5)
    for target in marks:
        mark_x(ax, target, f"{target:g}")
    ax.set_xscale("log", nonpositive="mask")
    ax.set_yscale("log", nonpositive="mask")
    ax.set_xlim(max(min([*x_lows, *marks]) / 2, 1e-7), 1.0)
    ax.set_ylim(max(min(y_lows, default=1e-3) / 2, 1e-7), 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.6)
    ax.grid(True, which="minor", alpha=0.2)
    ax.legend(loc="lower left")
    fig.tight_layout()

    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(".png")]
    if suffix == ".svg":
        written.append(path)
    for out in written:
        fig.savefig(out, format=out.suffix[1:])
    logger.info("wrote DET plot %s", ", ".join(str(p) for p in written))
    return written
