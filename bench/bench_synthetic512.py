"""Is the ``edgeface512`` synthetic gallery (``fortify bench search --model edgeface512``)
a fair stand-in for EdgeFace's real templates? Statistics and IVF behaviour side by side.

    .venv/bin/python bench/bench_edgeface.py extract ../shared/data/faces/celeba --out /tmp/edge
    .venv/bin/python bench/bench_synthetic512.py --out /tmp/edge [--grid]

Prints, for the real EdgeFace templates of the dev photos (part ``em``, the default
model's, or ``e``, v1's, of the bench's ``parts3.npz``) and for synthetic templates with
the same number of photos per person: genuine / impostor cosine statistics, and the share
of photos whose exact nearest neighbour (itself excluded) an IVF64 flat index finds with
1, 2, 4 and 8 lists probed.
``--grid`` reruns the search over the preset's parameters that chose it. No real photo
or template leaves the machine; the synthetic ones depict nobody.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fortify.eval.synthetic import (
    MODELS,
    SyntheticSpec,
    describe,
    model_spec,
    synthetic_templates,
)


def real_templates(out: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    z = np.load(out / "parts3.npz", allow_pickle=False)
    x = z[part].sum(axis=1)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.array([Path(str(p)).parent.name for p in z["ok_paths"]])
    return x.astype(np.float32), labels


def stats(x: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    s = x @ x.T
    iu = np.triu_indices(len(x), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    g, i = s[iu][same], s[iu][~same]
    return {
        "genuine": round(float(g.mean()), 3),
        "genuine_sd": round(float(g.std()), 3),
        "impostor": round(float(i.mean()), 3),
        "impostor_sd": round(float(i.std()), 3),
        "impostor_p99.9": round(float(np.percentile(i, 99.9)), 3),
    }


def ivf_nn_recall(x: np.ndarray, nlist: int = 64) -> dict[int, float]:
    """Share of rows whose exact nearest other row IVF``nlist`` finds, by lists probed."""
    import faiss

    n, d = x.shape
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    nn = s.argmax(axis=1)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x)
    ivf.add(x)
    out = {}
    for nprobe in (1, 2, 4, 8):
        ivf.nprobe = nprobe
        _, idx = ivf.search(x, 2)
        got = np.where(idx[:, 0] == np.arange(n), idx[:, 1], idx[:, 0])
        out[nprobe] = round(float((got == nn).mean()), 3)
    return out


def synthetic(n: int, per_person: float, **fields: Any) -> tuple[np.ndarray, np.ndarray]:
    spec = model_spec("edgeface512", n=n, n_queries=10, extra_samples=per_person - 1, **fields)
    data = synthetic_templates(spec, Path(tempfile.mkdtemp(prefix="fortify-syn-")))
    return np.asarray(data.gallery), np.asarray(data.labels).astype(str)


def grid(target: dict[str, float]) -> None:
    keys = ("genuine", "genuine_sd", "impostor", "impostor_sd")
    rows = []
    for bd, wd, bv, wv, qs in itertools.product(
        (0.5, 0.9, 1.2), (0.2, 0.6, 1.0), (0.5, 0.64), (0.3, 0.35, 0.45), (0.3, 0.5)
    ):
        f = {"between_decay": bd, "within_decay": wd, "between_var": bv, "within_var": wv}
        spec = SyntheticSpec(n=6000, n_queries=10, **{**MODELS["edgeface512"], **f,
                             "quality_sigma": qs})  # fmt: skip
        d = describe(synthetic_templates(spec, Path(tempfile.mkdtemp())), 3000)
        got = {"genuine": d["genuine_mean"], "genuine_sd": d["genuine_std"],
               "impostor": d["impostor_mean"], "impostor_sd": d["impostor_std"]}  # fmt: skip
        rows.append((sum((got[k] - target[k]) ** 2 for k in keys), f, qs, got))
    for err, f, qs, got in sorted(rows, key=lambda r: r[0])[:5]:
        print(f"{err:.5f} {f} quality_sigma={qs} {got}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="bench_edgeface.py's --out")
    ap.add_argument("--part", default="em", help="em: EdgeFace v2 (default); e: v1")
    ap.add_argument("--grid", action="store_true")
    a = ap.parse_args()
    x, labels = real_templates(a.out, a.part)
    per_person = len(x) / len(set(labels))
    real = stats(x, labels)
    sx, sl = synthetic(len(x), per_person)
    print(f"{len(x)} real templates, {len(set(labels))} people ({per_person:.1f} photos each)")
    print("| templates | " + " | ".join(real) + " | IVF64 NN found, nprobe 1 / 2 / 4 / 8 |")
    print("|---" * (len(real) + 2) + "|")
    for name, (v, lab) in (("EdgeFace, dev photos", (x, labels)), ("edgeface512", (sx, sl))):
        st = stats(v, lab)
        rec = " / ".join(f"{r:.3f}" for r in ivf_nn_recall(v).values())
        print(f"| {name} | " + " | ".join(str(st[k]) for k in real) + f" | {rec} |")
    sx, sl = synthetic(len(x), 2.5)
    rec = " / ".join(f"{r:.3f}" for r in ivf_nn_recall(sx).values())
    print(f"| edgeface512, 2.5 photos a person (the bench's gallery) | | | | | | {rec} |")
    if a.grid:
        grid(real)


if __name__ == "__main__":
    main()
