"""``fortify index check|rebuild|retemplate`` and ``fortify purge``."""

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

    @index_group.command("retemplate")
    @click.option(
        "--limit", type=int, default=None, help="At most this many samples now (resume later)."
    )
    @common_options
    @pass_ctx
    @handle_errors
    def retemplate_cmd(ctx: Ctx, limit: int | None) -> None:
        """Template the stored sample images with the configured face model (resumable).

        Until every stored image has one, the gallery keeps searching with the model of
        its existing templates; scores of two models are never mixed.
        """
        from fortify.gallery.retemplate import retemplate
        from fortify.index.sync import IndexManager
        from fortify.modalities.face.engine import Engine

        op = ctx.operator()
        engine = Engine(ctx.settings)
        gallery = ctx.gallery
        with Progress() as bar:
            task = bar.add_task(f"re-templating to {engine.model_id}", total=None)
            report = retemplate(
                gallery,
                engine,
                operator=op,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
                limit=limit,
            )
        if report.coverage.complete:  # build the new model's index now, not at first search
            model_id, dim = engine.model_spec()
            s = ctx.settings
            IndexManager(gallery.db, s.index_dir, model_id, dim, s.index_factory).rebuild()
        print_json(report.to_dict())

    @cli.command("purge")
    @common_options
    @pass_ctx
    @handle_errors
    def purge_cmd(ctx: Ctx) -> None:
        """Delete probe images past their retention time (also runs inside `serve`)."""
        n = ctx.gallery.purge_expired()
        click.echo(f"purged {n} probe image(s)")
