"""``fortify shard serve``: one shard of a gallery index split over machines."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fortify.cli.common import fail, handle_errors


def register(cli: click.Group) -> None:
    @cli.group("shard")
    def shard_group() -> None:
        """Index shards: the coordinator's factory is shards://host:port,host:port."""

    @shard_group.command("serve")
    @click.option(
        "--dir",
        "directory",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the shard keeps its index file.",
    )
    @click.option("--dim", required=True, type=int, help="Template dimension (512: EdgeFace).")
    @click.option(
        "--factory",
        default="PQ128x4fs,RFlat|rerank=1024",
        show_default=True,
        help="The shard's local index (docs/scale.md).",
    )
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8700, type=int, show_default=True)
    @click.option(
        "--token-env",
        default="FORTIFY_SHARD_TOKEN",
        show_default=True,
        help="Environment variable holding the shared shard token (16+ characters).",
    )
    @handle_errors
    def serve_cmd(
        directory: Path, dim: int, factory: str, host: str, port: int, token_env: str
    ) -> None:
        """Serve one shard: the coordinator replays the SQL change log into it."""
        import uvicorn

        from fortify.index.shard_server import Shard, create_shard_app

        token = os.environ.get(token_env, "")
        if len(token) < 16:
            fail(f"set ${token_env} to the shared shard token (16+ characters)", "config_error")
        if not 1 <= dim <= 4096:
            fail("--dim must be 1-4096", "invalid_input")
        shard = Shard(directory, dim, factory)
        click.echo(
            f"shard on http://{host}:{port}/ ({shard.index.ntotal} templates, {factory})", err=True
        )
        uvicorn.run(create_shard_app(shard, token), host=host, port=port, log_level="warning")
