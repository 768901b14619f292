"""Governance commands: subject access and redress, the transparency report, approvals.

``fortify subject report (--identity ID | --reference REF [--source S]) [--out DIR] [--json]``
``fortify subject dispute IDENTITY_ID --text T [--kind dispute|correction]``
``fortify report transparency [--period 2026-Q4] --out DIR [--eval FILE]``
``fortify approvals list [--status pending]`` / ``fortify approvals decide ID --approve|--deny``
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.governance import approvals as _approvals
from fortify.governance import subject as _subject


def _subject_group(cli: click.Group) -> None:
    @cli.group("subject")
    def subject_group() -> None:
        """Subject access and redress (an administrator acts for the person)."""

    @subject_group.command("report")
    @click.option("--identity", "identity_id", default=None, help="Identity id.")
    @click.option("--reference", default=None, help="Reference in the source system.")
    @click.option("--source", default=None, help="Source, when the reference is ambiguous.")
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Write report.json and copies of the photos held here.",
    )
    @click.option("--json", "as_json", is_flag=True)
    @common_options
    @pass_ctx
    @handle_errors
    def report_cmd(
        ctx: Ctx,
        identity_id: str | None,
        reference: str | None,
        source: str | None,
        out: Path | None,
        as_json: bool,
    ) -> None:
        """What is held about a person and which searches returned them (audited)."""
        r = _subject.subject_report(
            ctx.gallery,
            operator=ctx.operator(),
            identity_id=identity_id,
            reference=reference,
            source=source,
            photos_dir=out / "photos" if out else None,
        )
        if out is not None:
            (out / "report.json").write_text(json.dumps(r, indent=2, default=str))
        if as_json:
            print_json(r)
            return
        ident = r["identity"]
        click.echo(
            f"identity {ident['identity_id']}  reference {ident['reference']}  "
            f"source {ident['source']}"
        )
        click.echo(
            f"photos held: {sum(p['image_held'] for p in r['photos'])} of "
            f"{len(r['photos'])} samples; disputes: {len(r['disputes'])}"
        )
        t = Table(title=f"Searches that returned this identity ({len(r['searches'])})")
        for col in ("time", "operator", "category", "score", "case"):
            t.add_column(col)
        for e in r["searches"]:
            t.add_row(
                e["ts"][:19],
                e["actor"],
                str(e.get("purpose_category") or "-"),
                f"{e['score']:.3f}",
                str(e.get("case_id") or "-"),
            )
        Console(width=max(80, Console().width)).print(t)
        if out is not None:
            click.echo(f"written: {out / 'report.json'}")

    @subject_group.command("dispute")
    @click.argument("identity_id")
    @click.option("--text", required=True, help="What is disputed or corrected.")
    @click.option("--kind", type=click.Choice(_subject.KINDS), default="dispute")
    @common_options
    @pass_ctx
    @handle_errors
    def dispute_cmd(ctx: Ctx, identity_id: str, text: str, kind: str) -> None:
        """Record a dispute or correction (shown on every later candidate card)."""
        d = _subject.record_dispute(
            ctx.gallery, identity_id, operator=ctx.operator(), text=text, kind=kind
        )
        click.echo(f"recorded {kind} {d['dispute_id']} against {identity_id}")


def _report_group(cli: click.Group) -> None:
    @cli.group("report")
    def report_group() -> None:
        """Public reports."""

    @report_group.command("transparency")
    @click.option("--period", default=None, help="2026-Q4, 2026-11 or 2026 (default: now).")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
    @click.option(
        "--eval",
        "eval_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="`fortify eval face --json` output (default: newest found).",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def transparency_cmd(ctx: Ctx, period: str | None, out: Path, eval_path: Path | None) -> None:
        """Write the public, aggregate transparency report (HTML, PDF, JSON, plots)."""
        from fortify.governance.transparency import build_report, parse_period
        from fortify.governance.transparency_render import write_report

        op = ctx.operator()
        op.require("audit.read")
        g = ctx.gallery
        r = build_report(g, parse_period(period), eval_path)
        paths = write_report(r, out)
        g.record_now(
            op,
            "report.transparency",
            "",
            period=r["period"]["label"],
            searches=r["searches"]["total"],
        )
        s = r["searches"]
        click.echo(
            f"transparency report {r['period']['label']}: {s['total']} searches, "
            f"{sum(r['refusals_by_reason'].values())} refused, policy "
            f"{r['policy']['version']}, chain head {r['audit_chain']['head_hash'][:16]}"
        )
        for k in ("html", "pdf", "json"):
            click.echo(f"{k}: {paths[k]}")


def _approvals_group(cli: click.Group) -> None:
    @cli.group("approvals")
    def approvals_group() -> None:
        """Prior approvals of searches whose category needs one."""

    @approvals_group.command("list")
    @click.option("--status", type=click.Choice(_approvals.STATUSES), default=None)
    @click.option("--json", "as_json", is_flag=True)
    @common_options
    @pass_ctx
    @handle_errors
    def list_cmd(ctx: Ctx, status: str | None, as_json: bool) -> None:
        rows = _approvals.list_approvals(ctx.gallery, operator=ctx.operator(), status=status)
        if as_json:
            print_json(rows)
            return
        t = Table(title="Approval requests")
        for col in ("id", "requester", "category", "status", "created"):
            t.add_column(col)
        for a in rows:
            t.add_row(
                a["approval_id"][:12],
                a["requester"],
                a["category"],
                a["status"],
                (a["created_at"] or "")[:16],
            )
        Console().print(t)

    @approvals_group.command("decide")
    @click.argument("approval_id")
    @click.option("--approve/--deny", required=True)
    @click.option("--note", default="")
    @common_options
    @pass_ctx
    @handle_errors
    def decide_cmd(ctx: Ctx, approval_id: str, approve: bool, note: str) -> None:
        a = _approvals.decide(
            ctx.gallery, approval_id, operator=ctx.operator(), approve=approve, note=note
        )
        click.echo(f"{a['approval_id']}: {a['status']} (expires {a['expires_at'] or '-'})")


def register(cli: click.Group) -> None:
    _subject_group(cli)
    _report_group(cli)
    _approvals_group(cli)
