"""Test-time augmentation for EdgeFace v2: average the templates of several crops of a face?

    nice python bench/bench_tta.py extract ../shared/data/faces/celeba --out /tmp/tta
    python bench/bench_tta.py table ../shared/data/faces/celeba --out /tmp/tta \
        --groups ../shared/data/faces/celeba-groups.csv [--split-seed 2] [--parts /tmp/edge3]

``extract`` runs the served engine (``edgeface-s-v2``: the null-template check, turned
copies, next largest face) once per photo, then embeds crops of the face it used, aligned
from the same face-mesh points onto the ArcFace template moved about: zoomed (``z0.9``:
a looser crop, ``z1.1`` a tighter one) or shifted by 3 template pixels (``x-``, ``x+``,
``y-``, ``y+``). Every crop's template is its own and its mirror's, averaged (as served);
``z1.0`` is the served template. ``table`` evaluates averages of these templates with the
eval harness (seed 0, one image enrolled).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import bench_edgeface
import numpy as np
from bench_edgeface import _metrics, _outcomes, _print, _row, load
from face_parts import extract_all, save_parts, split_results

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.eval.face import read_groups
from fortify.modalities.face.arcface_onnx import ARCFACE_TEMPLATE_112, align, alignment_points
from fortify.modalities.face.edgeface import EdgeFaceExtractor
from fortify.modalities.face.engine import Engine

S = 3.0
CROPS: dict[str, tuple[float, float, float]] = {  # name: (zoom, dx, dy)
    "z1.0": (1.0, 0, 0),
    "z0.9": (0.9, 0, 0),
    "z1.1": (1.1, 0, 0),
    "x-": (1.0, -S, 0),
    "x+": (1.0, S, 0),
    "y-": (1.0, 0, -S),
    "y+": (1.0, 0, S),
}
_eng: Engine | None = None


def _init(home: str) -> None:
    global _eng
    _eng = Engine(Settings(home=Path(home), embed_threads=1)).prepare()


def _one(path: str) -> dict[str, Any]:
    assert _eng is not None
    ex = _eng.extractor
    assert isinstance(ex, EdgeFaceExtractor) and ex._mesh is not None
    im = _eng.load(path)
    try:
        det = _eng.process(im, face="largest").detection
    except FortifyError:
        return {k: np.full(512, np.nan, np.float32) for k in CROPS}
    pts = ex._mesh.five_points(im, alignment_points(det, ex.points))
    out = {}
    for k, (z, dx, dy) in CROPS.items():
        c = align(im, pts, np.asarray(ARCFACE_TEMPLATE_112) + np.array([dx, dy]), ex.size, zoom=z)
        v = ex.unit_vectors(np.stack([c, c[:, ::-1]]))
        v = v[0] + v[1]
        out[k] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def cmd_extract(root: Path, out: Path, home: Path, workers: int) -> None:
    res, _, wall = extract_all(root, workers, _init, (str(home),), _one)
    ok, fail = split_results(res)
    arrays = {k: np.stack([v[k] for _, v in ok]) for k in CROPS}
    save_parts(out / "tta.npz", [p for p, _ in ok], fail, **arrays)
    print(f"{len(res)} images, {len(fail)} failures, {wall:.0f} s")


RUNS: dict[str, tuple[str, ...]] = {
    "served (z1.0)": ("z1.0",),
    "z0.9": ("z0.9",),
    "z1.1": ("z1.1",),
    "z0.9 + z1.0": ("z0.9", "z1.0"),
    "z1.0 + z1.1": ("z1.0", "z1.1"),
    "z0.9 + z1.0 + z1.1": ("z0.9", "z1.0", "z1.1"),
    "z1.0 + shifts x": ("z1.0", "x-", "x+"),
    "z1.0 + shifts y": ("z1.0", "y-", "y+"),
    "z1.0 + 4 shifts": ("z1.0", "x-", "x+", "y-", "y+"),
    "all 7": tuple(CROPS),
}


def cmd_table(root: Path, out: Path, groups_csv: Path | None, home: Path, parts: Path) -> None:
    load(parts)  # bench_edgeface's parts: the label-noise merge compares their dlib templates
    z = np.load(out / "tta.npz", allow_pickle=False)
    fails = {str(p): str(c) for p, c in zip(z["fail_paths"], z["fail_codes"], strict=True)}
    paths = [str(p) for p in z["ok_paths"]]
    groups = read_groups(groups_csv, bench_edgeface.GROUP_COLUMN[0]) if groups_csv else None
    st = Settings(home=home, detector="yunet", face_model="dlib-resnet-v1")
    rows = []
    for name, keys in RUNS.items():
        v = sum(z[k].astype(np.float64) for k in keys)
        v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        rows.append(
            _row(name, _metrics(root, st, _outcomes(fails, paths, v), groups, name).metrics)
        )
        print(json.dumps(rows[-1]), flush=True)
    _print(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["extract", "table"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/tta"))
    ap.add_argument("--home", type=Path, default=Settings().home)
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--group-column", default=None)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--parts", type=Path, default=Path("/tmp/edge3"), help="table: bench_edgeface's --out"
    )
    a = ap.parse_args()
    bench_edgeface.GROUP_COLUMN[0] = a.group_column
    bench_edgeface.SPLIT_SEED[0] = a.split_seed
    if a.cmd == "extract":
        cmd_extract(a.root, a.out, a.home, a.workers)
    else:
        cmd_table(a.root, a.out, a.groups, a.home, a.parts)


if __name__ == "__main__":
    main()
