"""``fortify bench search``: 1:N index speed, memory and recall on synthetic templates."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from fortify.eval.search_bench import Point, default_factories, operating_point
from fortify.eval.synthetic import MODELS

COLUMNS = [
    ("N", "n"),
    ("index", "index"),
    ("build s", "build_s"),
    ("add /s", "add_per_s"),
    ("RAM B/tpl", "ram_bytes"),
    ("disk B/tpl", "disk_bytes"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
    ("batch QPS", "qps"),
    ("R@1", "recall1"),
    ("R@1 mated", "recall1_mated"),
    ("R@1 identity", "recall1_identity"),
    ("R@10", "recall10"),
    ("x NumPy", "x_numpy"),
    ("x Flat", "x_flat"),
    ("restart s", "restart_s"),
]


def parse_sizes(text: str) -> list[int]:
    """``"100k,1M,10M"`` → ``[100000, 1000000, 10000000]``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1].lower(), 1)
        digits = part[:-1] if mult > 1 else part
        try:
            out.append(int(float(digits) * mult))
        except ValueError as exc:
            raise click.BadParameter(f"not a size: {part!r}") from exc
    return out


def summary(points: Sequence[Point], min_recall: float = 0.99) -> list[dict[str, Any]]:
    """Per size: the NumPy scan, FAISS flat, and each index at its operating point
    (fastest setting with recall@1 >= ``min_recall``), with speed-ups as ratios."""
    rows: list[dict[str, Any]] = []
    for n in sorted({p.n for p in points}):
        at_n = [p for p in points if p.n == n]
        fams: dict[str, list[Point]] = {}
        for p in at_n:
            fams.setdefault(p.family, []).append(p)
        numpy = fams.get("NumPy scan", [None])[0]
        flat = fams.get("FAISS Flat", [None])[0]
        for pts in fams.values():
            best = operating_point(pts, min_recall)
            row = asdict(best)
            row["x_numpy"] = numpy.p50_ms / best.p50_ms if numpy else None
            row["x_flat"] = flat.p50_ms / best.p50_ms if flat else None
            del row["extra"], row["family"]
            rows.append(row)
    return rows


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "-"
    if key == "n":
        return f"{v:,}"
    if key.startswith("recall"):
        return f"{v:.4f}"
    if key in ("x_numpy", "x_flat"):
        return f"{v:,.1f}x" if v >= 1 else f"{v:.2f}x"
    if key in ("add_per_s", "qps"):
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"
    return str(v)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"

    def cell(key: str, row: dict[str, Any]) -> str:
        return _fmt(key, row.get(key)).replace("|", "\\|")  # a | would split the cell

    body = ["| " + " | ".join(cell(k, r) for _, k in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


KEY_COLUMNS = 2  # N and index repeat in every part of a split table


def split_tables(rows: Sequence[dict[str, Any]], width: int, dim: int = 128) -> list[Table]:
    """The summary as tables that fit ``width`` columns (a terminal of 80 gets ~3 parts).

    Each part repeats the N and index columns and takes as many of the others as fit,
    so no cell is squeezed to an ellipsis.
    """

    def col_width(name: str, key: str) -> int:
        return max([len(name), *(len(_fmt(key, r.get(key))) for r in rows)]) + 3

    keys, rest = COLUMNS[:KEY_COLUMNS], COLUMNS[KEY_COLUMNS:]
    base = sum(col_width(n, k) for n, k in keys) + 1
    parts: list[list[tuple[str, str]]] = [[]]
    used = base
    for name, key in rest:
        w = col_width(name, key)
        if parts[-1] and used + w > width:
            parts.append([])
            used = base
        parts[-1].append((name, key))
        used += w
    title = f"1:N search: synthetic {dim}-d face templates, k=10"
    tables = []
    for i, part in enumerate(parts):
        suffix = f" ({i + 1}/{len(parts)})" if len(parts) > 1 else ""
        table = Table(title=title + suffix)
        for name, _ in (*keys, *part):
            table.add_column(name, justify="right" if name != "index" else "left", no_wrap=True)
        for r in rows:
            table.add_row(*(_fmt(k, r.get(k)) for _, k in (*keys, *part)))
        tables.append(table)
    return tables


def write_report(
    points: Sequence[Point], out: Path, console: Console, model: str = "dlib128", dim: int = 128
) -> dict[str, Path]:
    """Print the table; write search.json, .md and .png under ``out`` (``search-MODEL.*``
    for a synthetic family other than the 128-d dlib one)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summary(points)
    for table in split_tables(rows, console.width, dim):
        console.print(table)
    stem = "search" if model == "dlib128" else f"search-{model}"
    files = {k: out / f"{stem}.{k}" for k in ("json", "md", "png")}
    files["json"].write_text(
        json.dumps({"summary": rows, "points": [asdict(p) for p in points]}, indent=1)
    )
    files["md"].write_text(markdown(rows) + "\n")
    plot_latency_recall(points, files["png"], dim)
    return files


def register(cli: click.Group) -> None:
    @cli.group("bench")
    def bench_group() -> None:
        """Benchmarks on synthetic data (no real person is depicted)."""

    @bench_group.command("search")
    @click.option("--sizes", default="100k,1M", show_default=True, help="Gallery sizes.")
    @click.option(
        "--factory",
        "factories",
        multiple=True,
        help="Index factory string (repeatable); default: IVF-PQ with exact re-ranking.",
    )
    @click.option("--queries", default=1000, show_default=True, help="Probes (90% mated).")
    @click.option("--timed", default=300, show_default=True, help="Probes timed one by one.")
    @click.option("--numpy-timed", default=10, show_default=True, help="Probes for the scan.")
    @click.option("--threads", default=1, show_default=True, help="FAISS OpenMP threads.")
    @click.option(
        "--model",
        type=click.Choice(sorted(MODELS)),
        default="dlib128",
        show_default=True,
        help="Which face model's template statistics the synthetic gallery imitates.",
    )
    @click.option(
        "--cache",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where synthetic templates are cached (default $FORTIFY_BENCH_CACHE or /tmp).",
    )
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("bench/results"),
        show_default=True,
    )
    def search_cmd(
        sizes: str,
        factories: tuple[str, ...],
        queries: int,
        timed: int,
        numpy_timed: int,
        threads: int,
        model: str,
        cache: Path | None,
        out: Path,
    ) -> None:
        """Build time, add rate, bytes/template, latency, QPS and recall vs exact search."""
        from fortify.eval.search_bench import run_search_bench

        console = Console()
        start = time.perf_counter()

        def say(msg: str) -> None:
            console.log(f"[{time.perf_counter() - start:7.1f}s] {msg}")

        points = run_search_bench(
            parse_sizes(sizes),
            (lambda n, dim: list(factories)) if factories else default_factories,
            n_queries=queries,
            n_timed=min(timed, queries),
            numpy_timed=numpy_timed,
            threads=threads,
            cache=cache,
            model=model,
            say=say,
        )
        dim = int(MODELS[model].get("dim", 128))
        files = write_report(points, out, console, model, dim)
        console.print("wrote " + ", ".join(str(p) for p in files.values()))


def plot_latency_recall(points: Sequence[Point], path: Path, dim: int = 128) -> Path:
    """p50 latency (log) against recall@1, one line per index and size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    groups: dict[tuple[int, str], list[Point]] = {}
    for p in points:
        groups.setdefault((p.n, p.family), []).append(p)
    for (n, fam), pts in sorted(groups.items()):
        pts = sorted(pts, key=lambda p: p.recall1)
        style = "o-" if len(pts) > 1 else ("s" if fam == "FAISS Flat" else "^")
        ax.plot([p.recall1 for p in pts], [p.p50_ms for p in pts], style, label=f"{fam}, N={n:,}")
    ax.set_yscale("log")
    ax.set_xlabel("recall@1 against exact search")
    ax.set_ylabel("single-query p50 latency (ms)")
    ax.axvline(0.99, color="grey", linestyle=":", linewidth=1)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"1:N search on synthetic {dim}-d face templates")
    fig.tight_layout()
    fig.savefig(path)
    return path
