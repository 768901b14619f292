"""``fortify audit verify`` and ``fortify audit show``."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.store.tables import AuditEvent


def register(cli: click.Group) -> None:
    @cli.group("audit")
    def audit_group() -> None:
        """The hash-chained audit log."""

    @audit_group.command("verify")
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--deep", is_flag=True, help="Also check table rows against their digests.")
    @common_options
    @pass_ctx
    @handle_errors
    def verify_cmd(ctx: Ctx, as_json: bool, deep: bool) -> None:
        """Check every entry; exit 1 and name the first bad entry if the chain is broken."""
        report = ctx.gallery.verify_audit(operator=ctx.operator(), deep=deep)
        if as_json:
            print_json(report.to_dict())
        elif report.ok:
            click.echo(f"audit chain OK: {report.entries} entries, head {report.head_hash[:16]}")
        if not report.ok and report.first_bad_seq is None:  # --deep: the chain holds, rows not
            click.echo(f"error: audit_rows_mismatch: {report.reason}", err=True)
            raise SystemExit(1)
        if not report.ok:
            click.echo(
                f"error: audit_chain_broken: first bad entry {report.first_bad_seq}: "
                f"{report.reason}",
                err=True,
            )
            raise SystemExit(1)

    @audit_group.command("show")
    @click.option("--last", default=20, show_default=True, type=int)
    @common_options
    @pass_ctx
    @handle_errors
    def show_cmd(ctx: Ctx, last: int) -> None:
        """Print the newest entries (the read itself is audited)."""
        g = ctx.gallery
        op = ctx.operator()
        op.require("audit.read")
        with g.db.session() as s:
            rows = list(
                reversed(
                    s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(last)).all()
                )
            )
        t = Table(title="Audit log")
        for col in ("seq", "time", "actor", "action", "target", "hash"):
            t.add_column(col)
        for e in rows:
            t.add_row(str(e.seq), e.ts[:19], e.actor, e.action, e.target, e.hash[:12])
        Console().print(t)
        g.record_now(op, "audit.export", "", returned=len(rows), channel="cli")
