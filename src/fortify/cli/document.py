"""``fortify document IMAGE --purpose TEXT`` and ``fortify eval mrz DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx, print_json


def print_document(r: dict[str, Any]) -> None:
    console = Console()
    d = r["document"]
    console.print(f"[bold yellow]{r['notice']}[/]")
    console.print(
        f"scan {r['search_id']}  {d['format']}  "
        f"{'[green]valid[/]' if d['valid'] else '[red]NOT valid[/]'}  "
        f"purpose {r['purpose']!r}  case {r['case_id'] or '-'}"
    )
    t = Table(title="Document fields")
    t.add_column("field")
    t.add_column("value")
    for k, v in d["fields"].items():
        t.add_row(k, "" if v is None else str(v))
    console.print(t)
    if d.get("checks"):
        console.print(
            "check digits: "
            + "  ".join(f"{k} {'ok' if c['ok'] else 'FAIL'}" for k, c in d["checks"].items())
        )
    for c in d.get("corrections", []):
        console.print(
            f"corrected line {c['line'] + 1} pos {c['pos'] + 1}: "
            f"{c['read']} -> {c['corrected']} ({c['reason']})"
        )
    if r["flags"]:
        console.print(f"[bold red]flags: {', '.join(r['flags'])}[/]")
    p = r["portrait"]
    if p.get("compared"):
        console.print(f"portrait vs live face: score {p['score']}  {p.get('decision')}")
        if p.get("calibration"):
            console.print(f"  ({p['calibration']}; see bench/bench_portrait.py)")
    agreement = r.get("holder_agreement")
    if agreement and agreement.get("agree") is False:
        console.print(f"[bold red]{(r.get('consistency') or {}).get('warning') or ''}[/]")
    if r.get("capture"):
        console.print(f"document capture {r['capture']} of search {r['search_id']}")
    if not r["leads"]:
        console.print("No record matches the holder.")
    for lead in r["leads"]:
        name = (lead["display_name"] or "") + (" [SYNTHETIC]" if lead["synthetic"] else "")
        console.print(
            f"lead {lead['reference']} {name}: matched by {', '.join(lead['matched_by'])}"
            + (f"  MISMATCH: {', '.join(lead['mismatch'])}" if lead["mismatch"] else "")
        )


def print_eval(m: dict[str, Any]) -> None:
    console = Console()
    t = Table(title="MRZ reading: Fortify beside PassportEye (valid = every check digit holds)")
    for col in ("image", "fortify", "corr", "s", "passporteye", "s"):
        t.add_column(col, justify="left" if col == "image" else "right")
    for row in m["images"]:
        f, pe = row["fortify"], row.get("passporteye", {})
        ft = "valid" if f["valid"] else f.get("error", "invalid")
        if "field_accuracy" in f:
            ft += f" {f['field_accuracy']:.0%}"
        pt = (
            ("valid" if pe.get("valid") else "invalid" if pe.get("read") else "none") if pe else "-"
        )
        if "field_accuracy" in pe:
            pt += f" {pe['field_accuracy']:.0%}"
        t.add_row(
            row["image"][-30:],
            ft,
            str(len(f.get("corrections", []))),
            f"{f['seconds']:.2f}",
            pt,
            f"{pe.get('seconds', 0):.2f}",
        )
    console.print(t)
    s = Table(title="Summary")
    for col in ("", "valid reads", "field acc.", "exact", "wall s", "CPU s", "negatives"):
        s.add_column(col, justify="right")
    for tool in ("fortify", "passporteye"):
        if tool in m:
            x = m[tool]
            s.add_row(
                tool,
                f"{x['valid_read_rate']:.1%} ({x['valid_reads']}/{m['n_documents']})",
                "-" if x["field_accuracy"] is None else f"{x['field_accuracy']:.1%}",
                f"{x['exact_with_truth']}/{x['n_with_truth']}",
                f"{x['seconds_per_image']:.2f}",
                f"{x['cpu_seconds_per_image']:.2f}" if tool == "fortify" else "-",
                f"{x['negatives_rejected']}/{m['n_negatives']}",
            )
    console.print(s)
    for folder, v in m["by_folder"].items():
        console.print(
            f"{folder}: n={v['n']}  fortify {v['fortify']:.1%}"
            + (f"  passporteye {v['passporteye']:.1%}" if "passporteye" in v else "")
        )


def register(cli: click.Group) -> None:
    @cli.command("document")
    @click.argument("image", type=click.Path(path_type=Path))
    @click.option("--purpose", default=None, help="Why this scan is made (required).")
    @click.option("--case", "case_id", default=None, help="Case number.")
    @click.option(
        "--face",
        "face_image",
        type=click.Path(path_type=Path),
        default=None,
        help="A live face photo to compare with the document portrait.",
    )
    @click.option(
        "--search",
        "search_id",
        default=None,
        help="Your face/finger search: the scan becomes one more capture of it.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @common_options
    @pass_ctx
    @handle_errors
    def document_cmd(
        ctx: Ctx,
        image: Path,
        purpose: str | None,
        case_id: str | None,
        face_image: Path | None,
        search_id: str | None,
        as_json: bool,
    ) -> None:
        """Read a passport, ID card, visa (MRZ) or US licence (PDF417) and look the holder up.

        A document scan is a search: purpose required, audited, retained like probes.
        """
        from fortify.gallery.documents import scan_document

        result = scan_document(
            ctx.gallery,
            image,
            operator=ctx.operator(),
            purpose=purpose,
            case_id=case_id,
            channel="cli",
            search_id=search_id,
            face_image=face_image,
        )
        if as_json:
            print_json(result)
        else:
            print_document(result)

    eval_group = cli.commands.get("eval")
    if not isinstance(eval_group, click.Group):
        return

    @eval_group.command("mrz")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
    @click.option("--no-passporteye", is_flag=True, help="Skip the PassportEye comparison.")
    def eval_mrz(directory: Path, as_json: bool, no_passporteye: bool) -> None:
        """Read every image under DIRECTORY; Fortify's MRZ reader beside PassportEye."""
        from fortify.eval.mrz import evaluate_mrz

        if not directory.is_dir():
            fail(f"{directory} is not a directory", "invalid_input")
        pe = not no_passporteye
        if pe:
            try:
                import passporteye  # noqa: F401
            except ImportError:
                pe = False
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("images", total=None)
            m = evaluate_mrz(
                directory,
                with_passporteye=pe,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
            )
        if as_json:
            print_json(m)
        else:
            print_eval(m)
