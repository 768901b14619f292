"""Accuracy tricks at fixed FPIR, measured on the open-set protocol.

    .venv/bin/python bench/bench_tricks.py [--data ../shared/data/faces/celeba]

Identities are split (seeded) into a *dev* third, used only to learn a projection or
as a score-normalisation cohort, and an *evaluation* rest, split open-set as in
``fortify eval face``. Every row is measured on the same evaluation probes:

- baseline: cosine of dlib ResNet templates;
- flip: templates averaged with the mirrored face;
- centre / whiten / WCCN: a linear projection learned on the dev identities;
- cohort T-norm: scores normalised by the probe's scores against the dev cohort;
- all-but-one enrolment: multi-image fusion per identity (best template).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from fortify.config import Settings
from fortify.eval.face import merge_duplicate_identities
from fortify.eval.metrics import open_set_identification
from fortify.eval.protocol import list_identities, split_open_set
from fortify.eval.templates import extract_many

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "faces" / "celeba"
Arr = np.ndarray[Any, Any]


def templates(folders: dict[str, list[Path]], flip: bool, home: Path) -> dict[str, Any]:
    s = Settings(home=home, flip_average=flip)
    paths = sorted(p for ps in folders.values() for p in ps)
    out, _ = extract_many(paths, s, workers=2, cache_dir=home / "eval-cache")
    return out


def evaluate(
    folders: dict[str, list[Path]],
    tpl: dict[str, Any],
    enroll: str,
    transform: Callable[[Arr], Arr],
    norm: Callable[[Arr, Arr], Arr] | None,
) -> dict[str, float]:
    split = split_open_set(
        folders, seed=1, enroll_per_identity=1 if enroll == "one" else "all_but_one"
    )
    ok = {p for p, v in tpl.items() if not isinstance(v, str)}
    ids = list(split.gallery_identities)
    g = [(ids.index(i), tpl[str(p)]) for i, p in split.gallery if str(p) in ok]
    gx = transform(np.stack([v for _, v in g]))
    owners = np.array([j for j, _ in g])

    def scores(items: list[tuple[str, Path]]) -> tuple[Arr, list[str]]:
        keep = [(i, p) for i, p in items if str(p) in ok]
        x = transform(np.stack([tpl[str(p)] for _, p in keep]))
        s = x @ gx.T
        if norm is not None:
            s = norm(s, x)
        per = np.full((len(keep), len(ids)), -np.inf)
        for j in range(len(ids)):
            if (owners == j).any():
                per[:, j] = s[:, owners == j].max(axis=1)
        return per, [i for i, _ in keep]

    sm, ml = scores(list(split.mated_probes))
    cols = np.array([ids.index(i) for i in ml])
    ms = sm[np.arange(len(ml)), cols]
    ranks = (sm > ms[:, None]).sum(1) + 1
    sn, _ = scores(list(split.nonmated_probes))
    r = open_set_identification(
        np.where(np.isfinite(ms), ms, np.nan),
        ranks,
        sn.max(1),
        n_failed_mated=len(split.mated_probes) - len(ml),
        n_failed_nonmated=len(split.nonmated_probes) - len(sn),
    ).to_dict()
    return {
        k: round(float(r[k]), 4)
        for k in ("rank1", "fnir_at_fpir_0.1", "fnir_at_fpir_0.01", "fnir_at_fpir_0.001")
    }


def unit(x: Arr) -> Arr:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DATA.resolve())
    ap.add_argument("--home", type=Path, default=Path.home() / ".fortify-bench")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "tricks.json")
    a = ap.parse_args()
    plain = templates(list_identities(a.data), False, a.home)
    flipped = templates(list_identities(a.data), True, a.home)
    folders, _ = merge_duplicate_identities(list_identities(a.data), plain)
    names = sorted(folders)
    rng = np.random.default_rng(0)
    dev_names = set(rng.permutation(names)[: len(names) // 3].tolist())
    dev = {n: folders[n] for n in names if n in dev_names}
    test = {n: folders[n] for n in names if n not in dev_names}

    def dev_matrix(t: dict[str, Any]) -> tuple[Arr, Arr]:
        rows = [
            (n, t[str(p)]) for n, ps in dev.items() for p in ps if not isinstance(t[str(p)], str)
        ]
        return np.stack([v for _, v in rows]).astype(np.float64), np.array([n for n, _ in rows])

    x, lab = dev_matrix(plain)
    mu = x.mean(0)
    w, u = np.linalg.eigh(np.cov((x - mu).T))
    whiten = u / np.sqrt(np.maximum(w, 1e-9)) ** 0.5
    sw = sum(
        ((x[lab == n] - x[lab == n].mean(0)).T @ (x[lab == n] - x[lab == n].mean(0)))
        for n in set(lab)
    ) / len(x)
    ws, us = np.linalg.eigh(sw + 1e-2 * np.eye(x.shape[1]))
    wccn = us / np.sqrt(ws)
    cohort = unit(x)

    def tnorm(s: Arr, probes: Arr) -> Arr:
        c = np.sort(probes @ cohort.T, axis=1)[:, -50:]
        return (s - c.mean(1, keepdims=True)) / c.std(1, keepdims=True)

    rows: list[tuple[str, dict[str, Any], str, Callable[[Arr], Arr], Any]] = [
        ("baseline (cosine)", plain, "one", unit, None),
        ("flip averaging", flipped, "one", unit, None),
        ("centre on dev mean", plain, "one", lambda v: unit(v - mu), None),
        ("PCA whitening (dev)", plain, "one", lambda v: unit((v - mu) @ whiten), None),
        ("WCCN (dev)", plain, "one", lambda v: unit((v - mu) @ wccn), None),
        ("cohort T-norm (dev, top 50)", plain, "one", unit, tnorm),
        ("all-but-one enrolment", plain, "all_but_one", unit, None),
        ("flip + all-but-one", flipped, "all_but_one", unit, None),
    ]
    table = Table(title="Accuracy tricks (evaluation identities only; dev third held out)")
    for col in ("method", "rank-1", "FNIR@FPIR 0.1", "FNIR@FPIR 0.01", "FNIR@FPIR 0.001"):
        table.add_column(col, justify="left" if col == "method" else "right")
    results = {}
    for name, t, enroll, tf, norm in rows:
        r = evaluate(test, t, enroll, tf, norm)
        results[name] = r
        table.add_row(
            name,
            *(
                f"{r[k]:.4f}"
                for k in ("rank1", "fnir_at_fpir_0.1", "fnir_at_fpir_0.01", "fnir_at_fpir_0.001")
            ),
        )
    Console().print(table)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
