"""``fortify query``: a Super Query of the configured record systems (audited).

Answers are printed as they arrive, then the records grouped per person, with the
fields that conflict between sources flagged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.federation.records import QueryKeys

STYLE = {
    "hit": "bold green",
    "not_on_file": "dim",
    "timeout": "bold red",
    "temporarily_unavailable": "yellow",
    "error": "red",
    "refused": "magenta",
}


def _answer_line(console: Console, a: dict[str, Any]) -> None:
    console.print(
        f"  [{STYLE.get(a['status'], '')}]{a['status']:<24}[/] {a['source']:<18}"
        f" {a['elapsed_ms']:>8.0f} ms  {a['reason']}"
    )


def print_groups(console: Console, r: dict[str, Any]) -> None:
    for nq in r["not_queried"]:
        console.print(f"  {'not queried':<24} {nq['source']:<18} {'':>11}  {nq['reason']}")
    if r["not_answered"]:
        names = ", ".join(f"{n['source']} ({n['status']})" for n in r["not_answered"])
        console.print(f"[bold red]Did not answer:[/] {names}")
    for g in r["groups"]:
        agree = ", ".join(f"{k} {v}" for k, v in g["agree"].items())
        console.print(f"\n[bold]Person group {g['group']}[/] ({', '.join(g['sources'])}): {agree}")
        if g["name_only_link"]:
            console.print("[yellow]linked by name only: verify[/]")
        for c in g["conflicts"]:
            vals = "; ".join(f"{v} ({', '.join(s)})" for v, s in c["values"].items())
            console.print(f"[bold red]CONFLICT {c['field']}:[/] {vals}")
        t = Table(show_header=True, header_style="bold")
        for col in ("kind", "source", "record id", "fields"):
            t.add_column(col, overflow="fold")
        for rec in g["records"]:
            fields = ", ".join(f"{k}={v}" for k, v in rec["data"].items())
            mark = " [SYNTHETIC]" if rec["synthetic"] else ""
            prov = rec["provenance"]
            t.add_row(rec["kind"], prov["source"], prov["source_record_id"] + mark, fields)
        console.print(t)


def register(cli: click.Group) -> None:
    @cli.command("query")
    @click.option("--reference", default=None, help="Identity reference.")
    @click.option("--name", default=None, help="Name (with --dob).")
    @click.option("--dob", default=None, help="Date of birth YYYY-MM-DD (with --name).")
    @click.option("--document", default=None, help="Document number.")
    @click.option("--plate", default=None, help="Vehicle plate.")
    @click.option("--purpose", default=None, help="Why this query is made (required).")
    @click.option("--code", "--purpose-code", "purpose_code", help="Purpose code (required).")
    @click.option("--case", "case_id", default=None, help="Case id (required by default).")
    @click.option("--search", "search_id", default=None, help="The search this follows.")
    @click.option("--deadline-ms", type=int, default=None, help="Shorter deadline.")
    @click.option("--json", "as_json", is_flag=True, help="Print the final result as JSON.")
    @common_options
    @pass_ctx
    @handle_errors
    def query_cmd(
        ctx: Ctx,
        reference: str | None,
        name: str | None,
        dob: str | None,
        document: str | None,
        plate: str | None,
        purpose: str | None,
        purpose_code: str | None,
        case_id: str | None,
        search_id: str | None,
        deadline_ms: int | None,
        as_json: bool,
    ) -> None:
        """Ask every permitted record system at once (Super Query; audited).

        Needs --purpose, a --code from the configured purpose codes and a --case.
        """
        g = ctx.gallery
        keys = QueryKeys(reference, name, dob, document, plate.upper() if plate else None)
        q = g.prepare_query(
            keys,
            operator=ctx.operator(),
            purpose=purpose,
            purpose_code=purpose_code,
            case_id=case_id,
            search_id=search_id,
            deadline_ms=deadline_ms,
            channel="cli",
        )
        console = Console(stderr=as_json)

        async def run() -> dict[str, Any]:
            final: dict[str, Any] = {}
            async for ev in g.run_query(q):
                if ev["event"] == "query" and not as_json:
                    d = ev["data"]
                    console.print(f"[bold yellow]{d['notice']}[/]")
                    console.print(
                        f"query {d['id']}  code {d['purpose_code']}  case {d['case_id'] or '-'}"
                        f"  deadline {d['deadline_ms']} ms  sources {', '.join(d['sources'])}"
                    )
                elif ev["event"] == "answer" and not as_json:
                    _answer_line(console, ev["data"])
                elif ev["event"] == "done":
                    final = ev["data"]
            return final

        result = asyncio.run(run())
        if as_json:
            print_json(result)
        else:
            console.print(f"done in {result['elapsed_ms']:.0f} ms")
            print_groups(console, result)
