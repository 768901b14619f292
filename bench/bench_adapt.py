"""Does adapting EdgeFace v2's templates or scores to the data help? (issue 13, round six)

    python bench/bench_adapt.py transform ../shared/data/faces/celeba --out /tmp/edge3 \
        --groups ../shared/data/faces/celeba-groups.csv [--seeds 1 4]
    python bench/bench_adapt.py probe-norm ../shared/data/faces/celeba --out /tmp/edge3 \
        --groups ../shared/data/faces/celeba-groups.csv [--split-seeds 0 2 3]

``transform``:

Reads the served v2 templates (part ``eg``) that ``bench_edgeface.py extract`` stored. For
each seed the identities are split in two halves; a transform is fitted on the templates
of one half only and the other half is evaluated with ``evaluate_face`` (one image
enrolled), both ways. Transforms (all followed by L2 normalisation):

* ``centre``: subtract the fit half's mean template;
* ``wccn a``: within-class covariance normalisation, ``(Sw_a)^-1/2 (x - mean)`` with
  ``Sw_a = (1 - a) Sw + a tr(Sw)/d I`` (shrinkage ``a``), ``Sw`` the fit half's pooled
  within-identity scatter.

Nothing is fitted on the half that is evaluated.

``probe-norm``: each probe's scores against the gallery are normalised by that probe's own
score distribution before ranking and thresholding (a probe that scores high against
everybody is pulled down): ``centre`` subtracts the mean of its scores, ``z`` also
divides by their spread, ``top-k K`` subtracts the mean of its K best scores after the
first (adaptive score normalisation). Nothing is fitted; the threshold is the global one
at each FPIR, as in ``fortify eval face`` (seed 0 split and the ``--split-seeds``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import bench_edgeface
import numpy as np
from bench_edgeface import _metrics, _outcomes, _row, halves, load

import fortify.eval.face as face_eval
from fortify.config import Settings
from fortify.eval.face import read_groups
from fortify.eval.protocol import list_identities

Array = np.ndarray[Any, Any]


def _half(root: Path, paths: list[str], x: Array) -> tuple[Array, Array]:
    """The finite templates of ``root``'s identities and their identity labels."""
    where = {p: i for i, p in enumerate(paths)}
    rows, labels = [], []
    for k, (_, ps) in enumerate(sorted(list_identities(root).items())):
        for p in ps:
            i = where.get(str(p.resolve()))
            if i is not None and np.isfinite(x[i]).all():
                rows.append(i)
                labels.append(k)
    return x[np.array(rows)], np.array(labels)


def fit(x: Array, y: Array, kind: str, a: float) -> tuple[Array, Array]:
    """(mean, matrix) of the transform ``normalise(W (v - mean))``."""
    mu = x.mean(axis=0)
    d = x.shape[1]
    if kind == "centre":
        return mu, np.eye(d)
    c = np.zeros_like(x)
    for k in np.unique(y):
        c[y == k] = x[y == k] - x[y == k].mean(axis=0)
    sw = c.T @ c / len(x)
    sw = (1 - a) * sw + a * np.trace(sw) / d * np.eye(d)
    w, v = np.linalg.eigh(sw)
    return mu, (v / np.sqrt(w)) @ v.T


def apply(x: Array, mu: Array, m: Array) -> Array:
    z = (x - mu) @ m.T
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).astype(np.float32)


def cmd_transform(a: argparse.Namespace, fails: Any, paths: list[str], x: Array) -> None:
    groups = read_groups(a.groups, None) if a.groups else None
    st = Settings(home=a.home, detector="yunet", face_model="dlib-resnet-v1")
    variants = [("none", 0.0), ("centre", 0.0)] + [("wccn", s) for s in a.shrink]
    sums: dict[str, list[Array]] = {}
    print("| seed | fitted on -> tested on | transform | rank-1 | FNIR@0.1 | @0.01 | @0.001 |"
          " EER | FNIR w/b | FPIR w/b |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = np.isfinite(x).all(axis=1, keepdims=True)
    for seed in a.seeds:
        h = halves(a.root, a.out, seed)
        for fit_root, test_root, tag in ((h[0], h[1], "A -> B"), (h[1], h[0], "B -> A")):
            xf, yf = _half(fit_root, paths, x)
            for kind, s in variants:
                name = kind if kind != "wccn" else f"wccn {s}"
                z = x.astype(np.float32)
                if kind != "none":
                    mu, m = fit(xf, yf, kind, s)
                    z = np.where(ok, apply(np.nan_to_num(x), mu, m), np.nan)
                m_ = _metrics(test_root, st, _outcomes(fails, paths, z), groups, name).metrics
                sums.setdefault(name, []).append(_print_row(f"{seed} | {tag} | {name}", m_))
    _print_means(sums)


def _print_row(head: str, m: dict[str, Any]) -> Array:
    r = _row("", m)
    vals = [r["rank1"], r["fnir@0.1"], r["fnir@0.01"], r["fnir@0.001"], r["eer"]]
    cells = " | ".join(f"{v:.3f}" for v in vals)
    print(f"| {head} | {cells} | {r['fnir_ratio']} | {r['fpir_ratio']} |", flush=True)
    return np.array(vals)


def _print_means(sums: dict[str, list[Array]]) -> None:
    print("\nmean over splits: rank-1, FNIR@0.1 / 0.01 / 0.001, EER")
    for name, v in sums.items():
        print(f"| {name} | " + " | ".join(f"{u:.4f}" for u in np.mean(v, axis=0)) + " |")


NORMS: dict[str, tuple[str, int]] = {
    "none": ("", 0),
    "centre": ("centre", 0),
    "z": ("z", 0),
    "top-k 5": ("top", 5),
    "top-k 20": ("top", 20),
}


_BEST = face_eval._per_identity_max


def _normalised(kind: str, k: int) -> Any:
    """``fortify.eval.face._per_identity_max`` with the probe's scores normalised first."""
    best = _BEST

    def per_identity_max(scores: Array, owners: Array, n_ids: int) -> Array:
        s = scores.astype(np.float64)
        if kind == "centre":
            s = s - s.mean(axis=1, keepdims=True)
        elif kind == "z":  # scaled back to about a cosine's spread
            s = (s - s.mean(axis=1, keepdims=True)) / s.std(axis=1, keepdims=True) * 0.1
        elif kind == "top":
            srt = -np.sort(-s, axis=1)
            s = s - srt[:, 1 : k + 1].mean(axis=1, keepdims=True)
        return best(s.astype(np.float32), owners, n_ids)

    return per_identity_max


def cmd_probe_norm(a: argparse.Namespace, fails: Any, paths: list[str], x: Array) -> None:
    groups = read_groups(a.groups, None) if a.groups else None
    st = Settings(home=a.home, detector="yunet", face_model="dlib-resnet-v1")
    o = _outcomes(fails, paths, x.astype(np.float32))
    sums: dict[str, list[Array]] = {}
    print("| split seed | normalisation | rank-1 | FNIR@0.1 | @0.01 | @0.001 | EER |"
          " FNIR w/b | FPIR w/b |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for seed in a.split_seeds:
            bench_edgeface.SPLIT_SEED[0] = seed
            for name, (kind, k) in NORMS.items():
                face_eval._per_identity_max = _normalised(kind, k)  # type: ignore[assignment]
                m = _metrics(a.root, st, o, groups, name).metrics
                sums.setdefault(name, []).append(_print_row(f"{seed} | {name}", m))
    finally:
        face_eval._per_identity_max = _BEST  # type: ignore[assignment]
    _print_means(sums)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["transform", "probe-norm"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/edge3"))
    ap.add_argument("--home", type=Path, default=Settings().home)
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 4], help="transform: halves")
    ap.add_argument("--shrink", type=float, nargs="+", default=[0.1, 0.3, 0.6])
    ap.add_argument("--split-seeds", type=int, nargs="+", default=[0, 2, 3])
    a = ap.parse_args()
    fails, paths, units = load(a.out)
    x = units["eg"].astype(np.float64)
    if a.cmd == "transform":
        cmd_transform(a, fails, paths, x)
    else:
        cmd_probe_norm(a, fails, paths, x)


if __name__ == "__main__":
    main()
