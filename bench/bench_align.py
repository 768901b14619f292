"""Which five points should SFace be aligned from? One run, same protocol, same images.

    nice python bench/bench_align.py extract ../shared/data/faces/celeba --out /tmp/align
    nice python bench/bench_align.py table ../shared/data/faces/celeba --out /tmp/align \
        --groups ../shared/data/faces/celeba-groups.csv

For each image the default detector (YuNet, cascade fallback) runs once; dlib's 5-point
predictor is run on the YuNet box as in the product. SFace is then embedded (face and
mirror image) from four sets of ArcFace-order points:

* ``yunet``: YuNet's own five points (the product default before this bench);
* ``dlib5``: the five estimated from dlib's 5-point landmarks
  (:func:`~fortify.modalities.face.yunet.arcface_points_from_dlib5`);
* ``mean``: the average of the two;
* ``68`` (reference only: iBUG 300-W terms exclude commercial use): dlib's 68-point
  predictor, as the ArcFace template was made from such points.

``table`` reports each SFace variant alone and fused with dlib at the product weight,
through ``evaluate_face`` (same split, seed 0). ``seed`` then seeds ``fortify eval face``'s
template cache for ``fused-dlib-sface-v2`` and writes ``parts.npz`` for
``bench/bench_fusion.py fit`` (same ``--out``), so both read exactly these templates.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from face_parts import extract_all, fused_face, save_parts, split_results, with_mirror

from fortify.config import Settings
from fortify.eval.face import evaluate_face, read_groups
from fortify.modalities.face.arcface_onnx import ARCFACE_TEMPLATE_112, align
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.fused import DLIB_WEIGHT, fuse
from fortify.modalities.face.weights import weights_path
from fortify.modalities.face.yunet import arcface_points_from_dlib5

VARIANTS = ("yunet", "dlib5", "mean", "68")
_eng: Engine | None = None
_p68: Any = None


def _init(home: str) -> None:
    global _eng, _p68
    import dlib

    _eng = Engine(Settings(home=Path(home), face_model="fused-dlib-sface-v1")).prepare()
    _p68 = dlib.shape_predictor(str(weights_path("landmarks68")))


def _pts(shape: Any) -> np.ndarray:  # type: ignore[type-arg]
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def _one(path: str) -> np.ndarray:  # type: ignore[type-arg]
    assert _eng is not None
    import dlib

    im, det, ex = fused_face(_eng, path)
    yun = np.asarray(det.landmarks, np.float64)
    b = det.bbox
    # the detection's box is the one dlib's predictor ran on (YuNet's, mapped)
    rect = dlib.rectangle(int(b.x), int(b.y), int(b.x + b.w), int(b.y + b.h))
    p5 = _eng.detector._shapes(im, rect)  # type: ignore[attr-defined]
    d5 = arcface_points_from_dlib5(_pts(p5))
    s68 = _pts(_p68(im, rect))
    p68 = np.array([s68[36:42].mean(0), s68[42:48].mean(0), s68[30], s68[48], s68[54]], np.float64)
    sets = {"yunet": yun, "dlib5": d5, "mean": (yun + d5) / 2, "68": p68}
    out = [with_mirror(ex.dlib.extract_chip, det.chip)]
    for v in VARIANTS:
        out.append(
            with_mirror(ex.sface.extract_chip, align(im, sets[v], ARCFACE_TEMPLATE_112, 112))
        )
    return np.concatenate(out).astype(np.float32)


def cmd_extract(root: Path, out: Path, home: Path, workers: int) -> None:
    res, _, wall = extract_all(root, workers, _init, (str(home),), _one)
    ok, fail = split_results(res)
    save_parts(out / "align.npz", [p for p, _ in ok], fail, ok=np.stack([v for _, v in ok]))
    print(f"{len(res)} images, {len(fail)} failures, {wall:.0f} s")


def _u(v: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def cmd_table(root: Path, out: Path, home: Path, groups_csv: Path | None, w: float) -> None:
    z = np.load(out / "align.npz", allow_pickle=False)
    fails = {str(p): str(c) for p, c in zip(z["fail_paths"], z["fail_codes"], strict=True)}
    vecs = {str(p): v for p, v in zip(z["ok_paths"], z["ok"], strict=True)}
    groups = read_groups(groups_csv) if groups_csv else None
    st = Settings(home=home, detector="yunet", face_model="fused-dlib-sface-v1")
    rows = []
    cfgs: dict[str, Any] = {}
    for k, v in enumerate(VARIANTS):
        i = 2 + 2 * k
        cfgs[f"SFace {v}"] = lambda x, i=i: _u(x[i] + x[i + 1])
        cfgs[f"fused w={w} SFace {v}"] = lambda x, i=i: fuse(
            _u(x[0] + x[1]), _u(x[i] + x[i + 1]), w
        )
    cfgs[f"fused w={w} SFace yunet+dlib5 avg"] = lambda x: fuse(
        _u(x[0] + x[1]), _u(_u(x[2] + x[3]) + _u(x[4] + x[5])), w
    )
    for name, fn in cfgs.items():
        o: dict[str, Any] = dict(fails)
        o.update({p: fn(v) for p, v in vecs.items()})
        m = evaluate_face(root, st, outcomes=o, groups=groups, label=name).metrics
        g = m.get("per_group", {}).get("groups", {})
        fn_g = {a: b["fnir_at_global_threshold"] for a, b in g.items() if a != "unknown"}
        fp_g = {a: b["fpir_at_global_threshold"] for a, b in g.items() if a != "unknown"}
        rows.append(
            {
                "config": name,
                "rank1": round(m["rank1"], 4),
                "fnir@0.01": round(m["fnir_at_fpir_0.01"], 4),
                "fnir@0.001": round(m["fnir_at_fpir_0.001"], 4),
                "eer": round(m["verification"]["eer"], 4),
                "fnir_ratio": round(max(fn_g.values()) / max(min(fn_g.values()), 1e-9), 2)
                if fn_g
                else None,
                "fpir_ratio": round(max(fp_g.values()) / max(min(fp_g.values()), 1e-9), 2)
                if fp_g
                else None,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    (out / "align-table.json").write_text(json.dumps(rows, indent=1))
    print("| configuration | rank-1 | FNIR@FPIR 0.01 | FNIR@FPIR 0.001 | EER |"
          " FNIR w/b | FPIR w/b |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['rank1']:.3f} | {r['fnir@0.01']:.3f} |"
              f" {r['fnir@0.001']:.3f} | {r['eer']:.3f} | {r['fnir_ratio']} |"
              f" {r['fpir_ratio']} |")  # fmt: skip


def cmd_seed(out: Path, home: Path, variant: str) -> None:
    """Seed ``fortify eval face``'s cache for the fused v2 model (SFace from ``variant``)
    and write ``parts.npz`` for ``bench_fusion.py fit`` (dlib + that SFace)."""
    from fortify.eval.templates import _save, cache_key

    z = np.load(out / "align.npz", allow_pickle=False)
    i = 2 + 2 * VARIANTS.index(variant)
    ok = z["ok"][:, [0, 1, i, i + 1]]
    np.savez(
        out / "parts.npz",
        ok_paths=z["ok_paths"],
        ok=ok,
        fail_paths=z["fail_paths"],
        fail_codes=z["fail_codes"],
    )
    pairs = zip(z["fail_paths"], z["fail_codes"], strict=True)
    o: dict[str, Any] = {str(p): str(c) for p, c in pairs}
    o.update(
        {
            str(p): fuse(_u(v[0] + v[1]), _u(v[2] + v[3]))
            for p, v in zip(z["ok_paths"], ok, strict=True)
        }
    )
    st = Settings(home=home, detector="yunet", face_model="fused-dlib-sface-v2")
    (home / "eval-cache").mkdir(parents=True, exist_ok=True)
    _save(home / "eval-cache" / f"templates-{cache_key(st)}.npz", o)
    print(f"seeded eval cache {cache_key(st)} for fused-dlib-sface-v2 (SFace {variant})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["extract", "table", "seed"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/align"))
    ap.add_argument("--home", type=Path, default=Settings().home)
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--w", type=float, default=DLIB_WEIGHT)
    ap.add_argument("--variant", choices=VARIANTS, default="dlib5", help="seed: SFace points")
    a = ap.parse_args()
    if a.cmd == "extract":
        cmd_extract(a.root, a.out, a.home, a.workers)
    elif a.cmd == "seed":
        cmd_seed(a.out, a.home, a.variant)
    else:
        cmd_table(a.root, a.out, a.home, a.groups, a.w)


if __name__ == "__main__":
    main()
