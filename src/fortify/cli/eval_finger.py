"""``fortify eval finger DIR...``: FVC-protocol accuracy, peers side by side, DET plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx, print_json


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def print_tables(reports: list[dict[str, Any]]) -> None:
    console = Console()
    t = Table(title="Fingerprint verification, FVC protocol (%; EER/FMR100/FMR1000/ZeroFMR)")
    for col in ("db", "matcher", "EER", "FMR100", "FMR1000", "ZeroFMR", "EER all", "ms"):
        t.add_column(col, justify="left" if col in ("db", "matcher") else "right")
    names = list(dict.fromkeys(n for r in reports for n in r["matchers"]))
    for r in reports:
        for name in names:
            m = r["matchers"].get(name)
            if m is None:
                continue
            t.add_row(
                r["label"],
                name,
                _pct(m["eer"]),
                _pct(m["fmr100"]),
                _pct(m["fmr1000"]),
                _pct(m["zero_fmr"]),
                _pct(m["all_pairs"]["eer"]),
                f"{m['match_ms']:.2f}",
            )
    if len(reports) > 1:
        for name in names:
            vals = [r["matchers"][name]["eer"] for r in reports if name in r["matchers"]]
            t.add_row("mean", name, _pct(float(np.mean(vals))), "", "", "", "", "")
    console.print(t)
    q = Table(title="Acquisition and open-set 1:N (fortify-mcc)")
    for col in ("db", "images", "FTA", "extract ms p50", "rank-1", "FNIR@FPIR 0.1"):
        q.add_column(col, justify="left" if col == "db" else "right")
    for r in reports:
        o = r["matchers"]["fortify-mcc"].get("open_set", {})
        q.add_row(
            r["label"],
            str(r["images"]),
            _pct(r["fta"]),
            str(r["extract_ms_p50"]),
            _pct(o.get("rank1")),
            _pct(o.get("fnir_at_fpir_0.1")),
        )
    console.print(q)


def register(cli: click.Group) -> None:
    group = cli.commands["eval"]
    if not isinstance(group, click.Group):  # pragma: no cover - eval is a group
        raise TypeError("the eval command is not a group")

    @group.command("finger")
    @click.argument("directories", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @click.option("--plots", type=click.Path(path_type=Path), default=None, help="DET plots here.")
    @click.option("--no-peers", is_flag=True, help="Only our matcher (no bozorth3, no ISO).")
    @click.option(
        "--calibration-out",
        type=click.Path(path_type=Path),
        default=None,
        help="Write the impostor-score calibration (all folders pooled) to this JSON.",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def finger_cmd(
        ctx: Ctx,
        directories: tuple[Path, ...],
        as_json: bool,
        plots: Path | None,
        no_peers: bool,
        calibration_out: Path | None,
    ) -> None:
        """Evaluate fingerprint matching on FVC-style folders (<finger>_<n>.png).

        Each DIRECTORY is one database; the JSON has eer, fmr100, fmr1000, zero_fmr,
        fta, n_genuine and n_impostor of our matcher, and every matcher's figures.
        """
        from fortify.eval.finger import det_curves, evaluate, load_prints, public, scan
        from fortify.eval.metrics import score_to_fpr_table
        from fortify.matching.calibration import save_calibration
        from fortify.modalities.finger.engine import MODEL_ID, FingerModality

        settings = ctx.settings
        mod = FingerModality(settings).prepare()
        reports = []
        for d in directories:
            if not d.is_dir() or not scan(d):
                fail(f"{d} is not a folder of <finger>_<impression> images", "invalid_input")
            with Progress(
                f"[progress.description]{d.name}",
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True, quiet=as_json),
            ) as bar:
                task = bar.add_task(d.name, total=None)
                pr = load_prints(
                    mod,
                    d,
                    lambda i, n, t=task: bar.update(t, completed=i, total=n),  # type: ignore[misc]
                    peers=not no_peers,
                )
            reports.append(evaluate(mod, pr, d.name))
        if plots is not None:
            from fortify.eval.plots import plot_det

            for r in reports:
                plot_det(det_curves(r), plots / f"det_finger_{r['label']}.png", f"DET {r['label']}")
        if calibration_out is not None:
            imp = np.concatenate([r["matchers"]["fortify-mcc"]["_impostor_all"] for r in reports])
            save_calibration(
                calibration_out,
                MODEL_ID,
                score_to_fpr_table(imp),
                {"data": [str(d) for d in directories], "impostor_pairs": int(imp.size)},
            )
        out = [public(r) for r in reports]
        if as_json:
            if len(out) == 1:
                print_json(out[0])
            else:
                mean = {
                    k: float(np.mean([o[k] for o in out]))
                    for k in ("eer", "fmr100", "fmr1000", "zero_fmr", "fta")
                }
                print_json({"databases": out, "mean": mean})
        else:
            print_tables(reports)
