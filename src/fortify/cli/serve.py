"""``fortify serve``: the HTTP API and the capture page."""

from __future__ import annotations

import click

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, type=int, show_default=True)
    @common_options
    @pass_ctx
    @handle_errors
    def serve_cmd(ctx: Ctx, host: str, port: int) -> None:
        """Serve the API (/v1, docs at /docs) and the capture page (/)."""
        import uvicorn

        from fortify.service import create_app

        app = create_app(ctx.settings, ctx.gallery)
        click.echo(f"Fortify on http://{host}:{port}/  (API docs: /docs)", err=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
