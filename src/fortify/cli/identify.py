"""``fortify identify IMAGE --purpose TEXT``: a 1:N search from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.errors import InvalidInput
from fortify.modalities.face.engine import FacePick


def print_result(r: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold yellow]{r['notice']}[/]")
    console.print(
        f"search {r['search_id']}  operator {r['operator']}  purpose {r['purpose']!r}"
        f"  case {r['case_id'] or '-'}  threshold {r['threshold']}"
    )
    q = r["probe"]["quality"]
    if r.get("modality", "face") != "face":
        console.print(f"modality {r['modality']}  model {r['model']}")
    if q.get("warnings"):
        console.print(f"probe quality warnings: {', '.join(q['warnings'])}")
    cons = r.get("consistency") or {}
    if r.get("captures", 1) > 1:
        console.print(f"{r['captures']} captures fused")
    if cons.get("warning"):
        console.print(f"[bold red]WARNING: {cons['warning']}[/]")
    if r["decision"] == "no_candidate":
        console.print("[bold]No candidate[/] above the threshold.")
        return
    t = Table(title=f"Candidates (gallery of {r['gallery_size']} templates)")
    cols = ("rank", "reference", "display name", "source", "score", "est. FPIR", "samples")
    for col in cols:
        t.add_column(
            col, justify="left" if col in ("reference", "display name", "source") else "right"
        )
    for c in r["candidates"]:
        name = (c["display_name"] or "") + (" [SYNTHETIC]" if c["synthetic"] else "")
        t.add_row(
            str(c["rank"]),
            c["reference"],
            name,
            c["source"],
            f"{c['score']:.3f}",
            f"{c['estimated_fpir']:.2g}" if c.get("estimated_fpir") is not None else "-",
            str(c["samples_compared"]),
        )
    console.print(t)


def register(cli: click.Group) -> None:
    @cli.command("identify")
    @click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("--purpose", default=None, help="Why this search is made (required).")
    @click.option("--case", "case_id", default=None, help="Case number.")
    @click.option("--top", "top_k", type=int, default=None, help="Candidates to return.")
    @click.option("--face", default=None, help="'largest' or a face index if several.")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.option("--category", default=None, help="Purpose category of the use policy.")
    @click.option("--approval", "approval_id", default=None, help="Approval id, if needed.")
    @click.option("--place", default=None, help="Place code, e.g. port-of-entry:dover.")
    @click.option("--modality", default=None, help="face (default) or finger.")
    @click.option(
        "--finger", "finger", default=None, help="A fingerprint search: the finger (right-index)."
    )
    @common_options
    @pass_ctx
    @handle_errors
    def identify_cmd(
        ctx: Ctx,
        images: tuple[Path, ...],
        purpose: str | None,
        case_id: str | None,
        top_k: int | None,
        face: str | None,
        as_json: bool,
        category: str | None,
        approval_id: str | None,
        place: str | None,
        modality: str | None,
        finger: str | None,
    ) -> None:
        """Search the gallery for the face in IMAGE (audited; purpose required).

        Several IMAGES are captures of one person in one encounter: they are fused,
        and disagreement between them is flagged.
        """
        pick: FacePick = None
        if face:
            if face != "largest" and not face.isdigit():
                raise InvalidInput("--face takes 'largest' or a face index")
            pick = "largest" if face == "largest" else int(face)
        mod = modality or ("finger" if finger else "face")
        op = ctx.operator()
        result = ctx.gallery.identify(
            images[0],
            operator=op,
            purpose=purpose,
            case_id=case_id,
            top_k=top_k,
            face=pick,
            channel="cli",
            category=category,
            approval_id=approval_id,
            place=place,
            modality=mod,
            finger_position=finger,
        )
        for extra in images[1:]:
            result = ctx.gallery.add_capture(
                result["search_id"],
                extra,
                operator=op,
                face=pick,
                channel="cli",
                modality=mod,
                finger_position=finger,
            )
        if as_json:
            print_json(result)
        else:
            print_result(result)
