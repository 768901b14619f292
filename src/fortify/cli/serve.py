"""``fortify serve``: the HTTP API and the capture page."""

from __future__ import annotations

import os

import click

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx
from fortify.procs import PARENT_ENV


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, type=int, show_default=True)
    @click.option(
        "--workers",
        default=1,
        type=int,
        show_default=True,
        help="Server processes; each keeps its index in step with the SQL store.",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def serve_cmd(ctx: Ctx, host: str, port: int, workers: int) -> None:
        """Serve the API (/v1, docs at /docs) and the capture page (/)."""
        import uvicorn

        click.echo(f"Fortify on http://{host}:{port}/  (API docs: /docs)", err=True)
        if workers > 1:
            # each worker builds its own app from the environment
            os.environ["FORTIFY_HOME"] = str(ctx.settings.home)
            os.environ[PARENT_ENV] = str(os.getpid())  # workers die with this process
            ctx.gallery.open_index()  # build or check the index once, before forking
            ctx.close()
            uvicorn.run(
                "fortify.service.app:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
            )
            return
        from fortify.service import create_app

        uvicorn.run(create_app(ctx.settings, ctx.gallery), host=host, port=port, log_level="info")
