"""``fortify index check|rebuild`` and ``fortify purge``."""

from __future__ import annotations

import click
from rich.progress import Progress

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json


def register(cli: click.Group) -> None:
    @cli.group("index")
    def index_group() -> None:
        """The vector index (derived from the SQL store; always rebuildable)."""

    @index_group.command("check")
    @common_options
    @pass_ctx
    @handle_errors
    def check_cmd(ctx: Ctx) -> None:
        """Load the index, replay missed changes, rebuild if it disagrees with the store."""
        with Progress(transient=True) as bar:
            task = bar.add_task("index", total=None)
            report = ctx.gallery.open_index(lambda d, n: bar.update(task, completed=d, total=n))
        print_json(report.to_dict())

    @index_group.command("rebuild")
    @common_options
    @pass_ctx
    @handle_errors
    def rebuild_cmd(ctx: Ctx) -> None:
        """Rebuild the index from the SQL store."""
        ctx.operator().require("enroll")
        with Progress() as bar:
            task = bar.add_task("rebuilding", total=None)
            ctx.gallery.index.rebuild(lambda d, n: bar.update(task, completed=d, total=n))
        click.echo(f"index rebuilt: {ctx.gallery.index.ntotal} templates")

    @cli.command("purge")
    @common_options
    @pass_ctx
    @handle_errors
    def purge_cmd(ctx: Ctx) -> None:
        """Delete probe images past their retention time (also runs inside `serve`)."""
        n = ctx.gallery.purge_expired()
        click.echo(f"purged {n} probe image(s)")
