"""``fortify eval face DIR``: open-set 1:N accuracy, DET plot, calibration table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx, print_json


def print_report(m: dict[str, Any]) -> None:
    t = Table(title=f"Open-set 1:N evaluation: {m['label']}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    p = m["protocol"]
    t.add_row(
        "gallery identities / mated / non-mated probes",
        f"{p['gallery_identities']} / {m['n_mated']} / {m['n_nonmated']}",
    )
    t.add_row("rank-1 identification rate", f"{m['rank1']:.4f}")
    for fp in ("0.1", "0.01", "0.001"):
        thr = m.get(f"threshold_at_fpir_{fp}")
        t.add_row(
            f"FNIR at FPIR {fp}",
            f"{m[f'fnir_at_fpir_{fp}']:.4f}  (threshold {thr:.4f})"
            if thr is not None
            else f"{m[f'fnir_at_fpir_{fp}']:.4f}",
        )
    codes = m.get("failures_by_code") or {}
    why = ", ".join(f"{k} {v}" for k, v in codes.items())
    t.add_row(
        "failure to acquire", f"{m['failure_to_acquire']:.4f}" + (f"  ({why})" if why else "")
    )
    t.add_row("failure to enrol", f"{m['failure_to_enroll']:.4f}")
    t.add_row("FNMR at FMR 0.001 (all pairs)", f"{m['fnmr_at_fmr_0.001']:.4f}")
    ms = m["ms_per_image_p50"]
    t.add_row(
        "ms per image p50 (decode+detect+template)",
        "n/a (templates from the cache)" if ms is None else str(ms),
    )
    Console().print(t)
    if m.get("label_noise_merged"):
        Console().print(
            "identity folders merged (they share a photograph): "
            + "; ".join("+".join(g) for g in m["label_noise_merged"])
        )
    if "per_group" in m:
        g = Table(title="Per group (threshold at global FPIR 0.01)")
        for col in ("group", "mated", "non-mated", "FPIR", "FNIR", "note"):
            g.add_column(col)
        for name, row in m["per_group"]["groups"].items():
            g.add_row(
                name,
                str(row["n_mated"]),
                str(row["n_nonmated"]),
                _rate(row["fpir_at_global_threshold"], row.get("n_false_positives")),
                _rate(row["fnir_at_global_threshold"]),
                _note(row),
            )
        Console().print(g)
        pg = m["per_group"]
        boot = pg.get("bootstrap") or {}
        ratio = pg["fpir_ratio_worst_to_best"]
        if ratio is None:
            Console().print("worst/best FPIR ratio: n/a (fewer than two rated groups)")
        else:
            bound = ">= " if pg.get("fpir_ratio_is_lower_bound") else ""
            note = "; the best group's FPIR floored at one event" if bound else ""
            Console().print(
                f"worst/best FPIR ratio: {bound}{ratio:.3g}{_interval(boot, 'fpir')}"
                f" (false positives: {pg['worst_fpir_group']} {pg['false_positives_worst']},"
                f" {pg['best_fpir_group']} {pg['false_positives_best']}{note})"
            )
        fn = pg.get("fnir_ratio_worst_to_best")
        if fn is not None:
            Console().print(
                f"worst/best FNIR ratio: {fn:.3g}{_interval(boot, 'fnir')}"
                f" ({pg['worst_fnir_group']} / {pg['best_fnir_group']})"
            )
        if boot.get("resamples"):
            Console().print(
                f"[dim]intervals: central {boot['level']:.0%} of {boot['resamples']}"
                " bootstrap resamples of the identities[/dim]"
            )


def _note(row: dict[str, Any]) -> str:
    if row["low_sample"]:
        return "low sample"
    return "" if row.get("labelled", True) else "no label: not rated"


def _interval(boot: dict[str, Any], kind: str) -> str:
    v = boot.get(f"{kind}_ratio_interval")
    return "" if not v else f" [{v[0]:.3g}, {v[1]:.3g}]"


def _rate(value: float | None, count: int | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" + (f" ({count})" if count is not None else "")


def register(cli: click.Group) -> None:
    @cli.group("eval")
    def eval_group() -> None:
        """Accuracy evaluations (ISO/IEC 19795-1 terms)."""

    @eval_group.command("face")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
    @click.option(
        "--plots",
        type=click.Path(path_type=Path),
        default=None,
        help="Folder for the plots: det.png, det_verification.png and, with --groups,"
        " groups.png (each group's FNIR and FPIR against the threshold).",
    )
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option(
        "--enroll",
        type=click.Choice(["one", "all-but-one"]),
        default="one",
        show_default=True,
        help="Images enrolled per gallery identity.",
    )
    @click.option("--flip/--no-flip", default=None, help="Flip averaging (default: settings).")
    @click.option(
        "--groups",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="CSV of identity,group for per-group metrics.",
    )
    @click.option(
        "--group-column",
        default=None,
        help="With --groups: the CSV header's column to group by (e.g. sex, age); "
        "default: the second column.",
    )
    @click.option("--max-identities", type=int, default=None)
    @click.option("--workers", type=int, default=min(2, os.cpu_count() or 1), show_default=True)
    @click.option(
        "--calibration-out",
        type=click.Path(path_type=Path),
        default=None,
        help="Write the impostor-score calibration table for this model here.",
    )
    @click.option("--no-cache", is_flag=True, help="Do not reuse cached templates.")
    @click.option(
        "--merge-duplicates/--no-merge-duplicates",
        default=True,
        show_default=True,
        help="Merge identity folders that contain the same photograph.",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def face_cmd(
        ctx: Ctx,
        directory: Path,
        as_json: bool,
        plots: Path | None,
        seed: int,
        enroll: str,
        flip: bool | None,
        groups: Path | None,
        group_column: str | None,
        max_identities: int | None,
        workers: int,
        calibration_out: Path | None,
        no_cache: bool,
        merge_duplicates: bool,
    ) -> None:
        """Evaluate face identification on DIRECTORY (one sub-folder per identity)."""
        from fortify.eval.face import evaluate_face, read_groups
        from fortify.eval.templates import model_tag
        from fortify.matching.calibration import save_calibration
        from fortify.matching.normal_tail import fit_normal_tail

        if not directory.is_dir():
            fail(f"{directory} is not a directory", "invalid_input")
        if group_column and not groups:
            fail("--group-column needs --groups", "invalid_input")
        labels = read_groups(groups, group_column) if groups else None
        settings = ctx.settings
        if flip is not None:
            settings = settings.model_copy(update={"flip_average": flip})
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,  # an error then stays the one line on stderr
        ) as bar:
            task = bar.add_task("templates", total=None)
            report = evaluate_face(
                directory,
                settings,
                seed=seed,
                enroll="one" if enroll == "one" else "all_but_one",
                max_identities=max_identities,
                workers=max(1, workers),
                cache_dir=None if no_cache else settings.home / "eval-cache",
                groups=labels,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
                merge_duplicates=merge_duplicates,
                probe_tail=calibration_out is not None,
            )
        m = report.metrics
        if plots is not None:
            from fortify.eval.plots import plot_det

            plots.mkdir(parents=True, exist_ok=True)
            ident = {k: v for k, v in report.curves.items() if v.kind == "identification"}
            verif = {k: v for k, v in report.curves.items() if v.kind != "identification"}
            files = plot_det(ident, plots / "det.png", title=f"Open-set 1:N DET: {m['label']}")
            files += plot_det(
                verif, plots / "det_verification.png", title=f"1:1 DET (all pairs): {m['label']}"
            )
            pg = m.get("per_group") or {}
            named = [k for k, g in pg.get("groups", {}).items() if g.get("labelled")]
            if report.group_probes is not None and named:
                from fortify.eval.group_plots import plot_group_rates

                thr = pg["global_threshold"]
                files += plot_group_rates(
                    *report.group_probes,
                    named,
                    float("nan") if thr is None else thr,
                    plots / "groups.png",
                    f"Per group, one threshold (FPIR {pg['global_fpir_target']:g}): {m['label']}",
                )
            m["plots"] = [str(f) for f in files]
        if calibration_out is not None and report.impostor_table is not None:
            save_calibration(
                calibration_out,
                settings.face_model,
                report.impostor_table,
                {
                    "data": str(directory),
                    "n_impostor": report.impostor_table.n_impostor,
                    "flip_average": settings.flip_average,
                    "detector": settings.detector,
                    **({"model_tag": tag} if (tag := model_tag(settings)) else {}),
                },
                report.probe_tail,
                fit_normal_tail(report.impostor_table),
            )
            m["calibration"] = str(calibration_out)
        if as_json:
            print_json(m)
        else:
            print_report(m)
            for f in m.get("plots", []):
                click.echo(f"plot: {f}")
