"""Draw the transparency report: ``index.html`` (plots embedded), ``report.pdf``, ``report.json``.

Matplotlib writes both the PNG plots and the PDF; the HTML is escaped text and tables
built from the aggregate dict only.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

BLUE = "#083a66"
ORANGE = "#c05a00"


def _bar(title: str, data: dict[str, Any], xlabel: str = "count") -> Figure | None:
    if not data:
        return None
    labels = list(data)[::-1]
    values = [float(data[k]) for k in labels]
    fig = Figure(figsize=(7.5, max(2.2, 0.45 * len(labels) + 1.2)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(labels, values, color=BLUE)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:g}", va="center", fontsize=9)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(values) * 1.15 + 1e-9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def _groups(acc: dict[str, Any]) -> Figure | None:
    groups = acc.get("groups") or {}
    if not groups:
        return None
    names = list(groups)
    fpir = [float(groups[n]["fpir"] or 0) for n in names]
    fnir = [float(groups[n]["fnir"] or 0) for n in names]
    fig = Figure(figsize=(7.5, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], fpir, width=0.4, label="FPIR", color=BLUE)
    ax.bar([i + 0.2 for i in x], fnir, width=0.4, label="FNIR", color=ORANGE)
    ax.set_xticks(list(x), [n + (" *" if groups[n]["low_sample"] else "") for n in names])
    ax.set_ylabel("rate at the global threshold")
    ax.set_title(f"Per-group accuracy ({acc.get('label') or 'latest evaluation'})")
    ax.legend()
    fig.tight_layout()
    return fig


def figures(r: dict[str, Any]) -> list[tuple[str, Figure]]:
    s = r["searches"]
    d = r["deletions"]
    deletions = {
        "records deleted": d["records_deleted"],
        "opt-outs": d["opt_outs"],
        "deleted at once (not a subject)": sum(d["probes_deleted_at_once_non_subjects"].values()),
        "purged at retention deadline": d["probes_purged_at_retention_deadline"],
    }
    outcome = {
        "with candidates": s["with_candidates"],
        "no candidate": s["no_candidate"],
        "confirmed matches": r["confirmed_matches"],
        "disputes/corrections": sum(r["disputes_and_corrections"].values()),
    }
    plots = [
        ("searches_by_category", _bar("Searches by purpose category", s["by_purpose_category"])),
        ("searches_by_channel", _bar("Searches by channel", s["by_channel"])),
        ("outcomes", _bar("Search outcomes", outcome)),
        ("refusals", _bar("Refused searches by reason", r["refusals_by_reason"])),
        ("deletions", _bar("Deletions and purges", deletions)),
        ("accuracy", _groups(r["accuracy"]) if r.get("accuracy") else None),
    ]
    return [(name, fig) for name, fig in plots if fig is not None]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th scope='row'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _summary_rows(r: dict[str, Any]) -> list[tuple[str, Any]]:
    s = r["searches"]
    rate = s["candidate_rate"]
    return [
        (
            "Period",
            f"{r['period']['label']} ({r['period']['start']} to before "
            f"{r['period']['end_exclusive']})",
        ),
        ("Searches", s["total"]),
        ("Candidate rate", "n/a" if rate is None else f"{rate:.1%}"),
        ("Refused searches", sum(r["refusals_by_reason"].values())),
        ("Confirmed matches", r["confirmed_matches"]),
        ("Disputes and corrections", sum(r["disputes_and_corrections"].values())),
        (
            "Approvals (requested / approved / denied)",
            f"{r['approvals'].get('requested', 0)} / {r['approvals'].get('approved', 0)} / "
            f"{r['approvals'].get('denied', 0)}",
        ),
        ("Probe retention (hours)", r["settings"]["probe_retention_hours"]),
        ("Target false-positive identification rate", r["settings"]["target_fpir"]),
        ("Identities in the gallery", r["settings"]["gallery_identities"]),
        ("Use policy", f"{r['policy']['version']} (sha256 {r['policy']['digest']})"),
        (
            "Audit chain",
            ("intact" if r["audit_chain"]["ok"] else "BROKEN")
            + f", {r['audit_chain']['entries']} entries, head {r['audit_chain']['head_hash']}",
        ),
    ]


def _ratios(acc: dict[str, Any]) -> str:
    """The worst/best ratios at the one global threshold, with their 90 % intervals."""
    parts = []
    for kind in ("fnir", "fpir"):
        ratio, ci = acc.get(f"{kind}_ratio_worst_to_best"), acc.get(f"{kind}_ratio_interval")
        if ratio is None:
            continue
        text = f"worst/best {kind.upper()} ratio {float(ratio):.2f}"
        if ci:
            text += f" (90% interval {float(ci[0]):.2f} to {float(ci[1]):.2f})"
        parts.append(text)
    if not parts:
        return ""
    return (
        f"<p>{html.escape('; '.join(parts))}. An interval that includes 1 means these data "
        "do not establish which group is worse.</p>"
    )


def write_html(r: dict[str, Any], figs: list[tuple[str, Figure]], path: Path) -> None:
    imgs = "".join(
        f"<figure><img alt='{html.escape(name.replace('_', ' '))}' "
        f"src='data:image/png;base64,{base64.b64encode(_png(fig)).decode()}'></figure>"
        for name, fig in figs
    )
    acc = r.get("accuracy")
    acc_html = "<p>No evaluation report was found.</p>"
    if acc and acc["groups"]:
        acc_html = _table(
            [
                (
                    n,
                    f"FPIR {g['fpir']}, FNIR {g['fnir']}, mated {g['n_mated']}, non-mated "
                    f"{g['n_nonmated']}" + (" (low sample)" if g["low_sample"] else ""),
                )
                for n, g in acc["groups"].items()
            ]
        ) + _ratios(acc)
    cats = _table(
        [
            (
                c["label"],
                ("case id required; " if c["requires_case_id"] else "")
                + ("prior supervisor approval" if c["requires_approval"] else ""),
            )
            for c in r["policy"]["categories"]
        ]
    )
    prohibited = "".join(f"<li>{html.escape(p)}</li>" for p in r["policy"]["prohibited"])
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(r["title"])} {
        html.escape(r["period"]["label"])
    }</title>
<style>body{{font-family:sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#111}}
th{{text-align:left;padding-right:1rem}}td,th{{border-bottom:1px solid #ddd;padding:.25rem}}
img{{max-width:100%}}code{{word-break:break-all}}</style></head><body>
<h1>{html.escape(r["title"])}: {html.escape(r["period"]["label"])}</h1>
<p>Aggregate figures from the tamper-evident audit log. This report holds no personal
data: no names, purposes, case numbers, references or photos.</p>
<h2>Summary</h2>{_table(_summary_rows(r))}
<h2>Plots</h2>{imgs}
<h2>Per-group accuracy (latest evaluation)</h2>{acc_html}
<h2>Use policy {html.escape(r["policy"]["version"])}</h2>{cats}
<h3>Prohibited uses</h3><ul>{prohibited}</ul>
<p>Generated {html.escape(r["generated_at"])}. Audit chain head:
<code>{html.escape(r["audit_chain"]["head_hash"])}</code></p>
</body></html>
"""
    path.write_text(doc, encoding="utf-8")


def write_pdf(r: dict[str, Any], figs: list[tuple[str, Figure]], path: Path) -> None:
    with PdfPages(path, metadata={"Title": f"{r['title']} {r['period']['label']}"}) as pdf:
        cover = Figure(figsize=(8.27, 11.69))
        FigureCanvasAgg(cover)
        cover.text(0.08, 0.94, f"{r['title']}: {r['period']['label']}", fontsize=16)
        y = 0.88
        for k, v in _summary_rows(r):
            text = f"{k}: {v}"
            for i in range(0, len(text), 95):
                cover.text(0.08, y, text[i : i + 95], fontsize=9, family="monospace")
                y -= 0.025
        cover.text(0.08, y - 0.02, "Aggregate figures only; no personal data.", fontsize=9)
        pdf.savefig(cover)
        for _, fig in figs:
            pdf.savefig(fig)


def write_report(r: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    figs = figures(r)
    paths = {"html": out / "index.html", "pdf": out / "report.pdf", "json": out / "report.json"}
    write_html(r, figs, paths["html"])
    write_pdf(r, figs, paths["pdf"])
    paths["json"].write_text(json.dumps(r, indent=2), encoding="utf-8")
    for name, fig in figs:
        p = out / f"{name}.png"
        p.write_bytes(_png(fig))
        paths[name] = p
    return paths
