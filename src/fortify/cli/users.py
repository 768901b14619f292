"""``fortify users add NAME --role ROLE``: operators and their API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fortify.accountability.operators import (
    ROLES,
    create_user,
    revoke_token,
    rotate_token,
    set_active,
)
from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.store.tables import User


def register(cli: click.Group) -> None:
    @cli.group("users")
    def users_group() -> None:
        """Operators (API tokens are shown once and stored hashed)."""

    @users_group.command("add")
    @click.argument("name")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--json", "as_json", is_flag=True)
    @common_options
    @pass_ctx
    @handle_errors
    def add_cmd(ctx: Ctx, name: str, role: str, as_json: bool) -> None:
        """Create operator NAME and print its API token once."""
        g = ctx.gallery
        op = ctx.operator()
        op.require("users.manage")
        with g.write() as s:
            user, token = create_user(s, name, role)
            g.record(s, op, "user.create", f"user:{name}", role=role)
        if as_json:
            print_json({"name": user.name, "role": user.role, "token": token})
        else:
            click.echo(f"created {role} '{name}'. API token (shown once, keep it safe):")
            click.echo(token)

    @users_group.command("rotate")
    @click.argument("name")
    @common_options
    @pass_ctx
    @handle_errors
    def rotate_cmd(ctx: Ctx, name: str) -> None:
        """Issue a new token for NAME (the old one stops working)."""
        g = ctx.gallery
        op = ctx.operator()
        op.require("users.manage")
        with g.write() as s:
            token = rotate_token(s, name)
            g.record(s, op, "user.rotate_token", f"user:{name}")
        click.echo(token)

    def _account_action(ctx: Ctx, name: str, action: str, change: Callable[[Any], object]) -> None:
        """One audited change to NAME's account, by an operator who manages users."""
        g = ctx.gallery
        op = ctx.operator()
        op.require("users.manage")
        with g.write() as s:
            change(s)
            g.record(s, op, action, f"user:{name}")

    @users_group.command("disable")
    @click.argument("name")
    @common_options
    @pass_ctx
    @handle_errors
    def disable_cmd(ctx: Ctx, name: str) -> None:
        """Disable NAME: its token is refused until `users enable` (audited)."""
        _account_action(ctx, name, "user.disable", lambda s: set_active(s, name, False))
        click.echo(f"disabled '{name}'")

    @users_group.command("enable")
    @click.argument("name")
    @common_options
    @pass_ctx
    @handle_errors
    def enable_cmd(ctx: Ctx, name: str) -> None:
        """Re-enable NAME (its token, if not revoked or expired, works again)."""
        _account_action(ctx, name, "user.enable", lambda s: set_active(s, name, True))
        click.echo(f"enabled '{name}'")

    @users_group.command("revoke")
    @click.argument("name")
    @common_options
    @pass_ctx
    @handle_errors
    def revoke_cmd(ctx: Ctx, name: str) -> None:
        """Revoke NAME's token now (`users rotate` issues a new one; audited)."""
        _account_action(ctx, name, "user.revoke_token", lambda s: revoke_token(s, name))
        click.echo(f"revoked the token of '{name}'")

    from fortify.cli.training import register_training

    register_training(users_group)

    @users_group.command("list")
    @common_options
    @pass_ctx
    @handle_errors
    def list_cmd(ctx: Ctx) -> None:
        """List operators."""
        ctx.operator().require("users.manage")
        with ctx.gallery.db.session() as s:
            users = s.scalars(select(User).order_by(User.name)).all()
        t = Table(title="Operators")
        for col in ("name", "role", "active", "created", "token issued"):
            t.add_column(col)
        for u in users:
            issued = u.token_issued_at.isoformat()[:19] if u.token_issued_at else "-"
            t.add_row(u.name, u.role, str(u.active), u.created_at.isoformat()[:19], issued)
        Console().print(t)
