"""Face-model bake-off with EdgeFace: every part once per photo, every combination, one run.

    nice python bench/bench_edgeface.py extract ../shared/data/faces/celeba --out /tmp/edge \
        [--mbf PATH/w600k_mbf.onnx]
    python bench/bench_edgeface.py table ../shared/data/faces/celeba --out /tmp/edge \
        --groups ../shared/data/faces/celeba-groups.csv [--group-column age]
    python bench/bench_edgeface.py table ../shared/data/faces/celeba --out /tmp/edge \
        --split-seed 2 --only "EdgeFace v1 (" --only "EdgeFace v2 (" --only mesh-point
    python bench/bench_edgeface.py fit ../shared/data/faces/celeba --out /tmp/edge --seed 1 \
        --groups ../shared/data/faces/celeba-groups.csv

``extract`` runs the product's detector (YuNet, cascade fallback, dlib's five points) once
per photo and stores the unit templates of the face and of its mirror image for:

* ``d``: dlib's ResNet on its 5-point chip (128-d);
* ``s``: SFace aligned from the mean of YuNet's and dlib's points (the v2 crop, 128-d);
* ``e``: EdgeFace-S (gamma 0.5; Idiap, BSD-3-Clause; 512-d) on the same crop, by the
  product's own ``EdgeFaceExtractor`` (so these are the templates the product makes);
* ``ey``: EdgeFace on the crop aligned from YuNet's own five points;
* ``ed``: EdgeFace on the crop aligned from dlib's five points alone;
* ``em``: EdgeFace on the crop aligned from MediaPipe's face-mesh points (run on the ``e``
  crop's points), by the product's ``edgeface-s-v2`` extractor, every crop kept;
* ``eg``: ``edgeface-s-v2`` as the product serves it (the default model; the engine's
  ``process``, as ``fortify eval face``): a template too close to the null template is
  refused after looking for the face again in turned copies and, for the largest face,
  in the next largest detection (a refusal is a failure to acquire for this part only);
* ``m`` (reference only, optional): InsightFace's ``w600k_mbf`` (MobileFaceNet trained on
  WebFace600K, non-commercial research terms) on the v2 crop.

``table`` reports every single model and every z-normalised fusion through
``evaluate_face`` (seed 0, one image enrolled). ``fit`` splits the identities in two
halves, learns the z-norm weights on one and reports on the other, with the calibration
fitted on one half applied to the other (both ways).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from face_parts import (
    Timed,
    extract_all,
    fused_face,
    probe_latency,
    save_parts,
    split_results,
    with_mirror,
)

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.eval.face import evaluate_face, read_groups
from fortify.eval.protocol import all_pairs, list_identities, pair_scores
from fortify.matching.calibration import Calibration
from fortify.matching.normal_tail import fit_normal_tail
from fortify.modalities.face.arcface_onnx import aligned_crop, make_session
from fortify.modalities.face.edgeface import EdgeFaceExtractor
from fortify.modalities.face.engine import Engine

PARTS = ("d", "s", "e", "ey", "ed", "em", "eg", "m")
GROUP_COLUMN: list[str | None] = [None]
SPLIT_SEED = [0]  # table: the seed of fortify eval face's split (--split-seed)
ONLY: list[str] = []  # table: keep the configurations whose names contain one of these
_eng: Engine | None = None
_edge: EdgeFaceExtractor | None = None
_mesh: EdgeFaceExtractor | None = None  # edgeface-s-v2: aligned from the face mesh
_served: Engine | None = None  # edgeface-s-v2 as served: unrecognisable crops refused
_mbf: Any = None  # the reference model's onnxruntime session, when --mbf names its file


def _init(home: str, mbf: str) -> None:
    global _eng, _edge, _mesh, _mbf, _served
    _eng = Engine(
        Settings(home=Path(home), embed_threads=1, face_model="fused-dlib-sface-v2")
    ).prepare()
    _edge = EdgeFaceExtractor(intra_op_num_threads=1, model_id="edgeface-s-v1")
    _mesh = EdgeFaceExtractor(intra_op_num_threads=1, model_id="edgeface-s-v2")
    _served = Engine(Settings(home=Path(home), embed_threads=1)).prepare()
    if mbf:
        _mbf = make_session(Path(mbf), 1)


def _edgeface(crop: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    """EdgeFace unit templates of the crop and its mirror image (2, 512)."""
    assert _edge is not None
    return _edge.unit_vectors(np.stack([crop, crop[:, ::-1]]))


def _mbf_units(crop: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    """w600k_mbf unit templates of the crop and its mirror image (2, 512), [-1, 1] input."""
    out = []
    for c in (crop, crop[:, ::-1]):
        x = ((c.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
        v = _mbf.run(None, {_mbf.get_inputs()[0].name: np.ascontiguousarray(x)})[0][0]
        out.append(v / np.linalg.norm(v))
    return np.stack(out).astype(np.float32)


def _served_units(im: Any) -> np.ndarray:  # type: ignore[type-arg]
    """The served v2 template of the largest face, twice (already mirror-averaged), as
    ``fortify eval face`` makes it; NaN where refused."""
    assert _served is not None
    try:
        t = _served.process(im, face="largest").template
    except FortifyError:
        return np.full((2, 512), np.nan, np.float32)
    return np.stack([t.vector, t.vector]).astype(np.float32)


def _one(path: str) -> dict[str, Any]:
    assert _eng is not None and _mesh is not None
    im, det, ex = fused_face(_eng, path)
    crop = ex.sface.crop(im, det)
    r: dict[str, Any] = {
        "d": with_mirror(ex.dlib.extract_chip, det.chip),
        "s": with_mirror(ex.sface.extract_chip, crop),
        "e": _edgeface(crop),
        "ey": _edgeface(aligned_crop(im, det, "detector")),
        "ed": _edgeface(aligned_crop(im, det, "dlib5")),
        "em": _edgeface(_mesh.crop(im, det)),
        "eg": _served_units(im),
    }
    if _mbf is not None:
        r["m"] = _mbf_units(crop)
    return r


def cmd_extract(root: Path, out: Path, home: Path, workers: int, mbf: str) -> None:
    res, _, wall = extract_all(root, workers, _init, (str(home), mbf), _one)
    ok, fail = split_results(res)
    arrays = {k: np.stack([v[k] for _, v in ok]) for k in PARTS if k in ok[0][1]}
    save_parts(out / "parts3.npz", [p for p, _ in ok], fail, **arrays)
    print(f"{len(res)} images, {len(fail)} failures, {wall:.0f} s")


def _u(v: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def load(out: Path) -> tuple[dict[str, str], list[str], dict[str, np.ndarray]]:  # type: ignore[type-arg]
    z = np.load(out / "parts3.npz", allow_pickle=False)
    fails = {str(p): str(c) for p, c in zip(z["fail_paths"], z["fail_codes"], strict=True)}
    units = {k: _u(z[k][:, 0] + z[k][:, 1]) for k in PARTS if k in z}
    units.update({f"{k}-noflip": z[k][:, 0] for k in ("e", "em") if k in z})
    for a, b in (("e", "ey"), ("em", "e")):
        if a in units and b in units:
            units[f"{a}+{b}"] = _u(units[a] + units[b])
    _DUP.update(fails)
    _DUP.update(dict(zip([str(p) for p in z["ok_paths"]], units["d"], strict=True)))
    return fails, [str(p) for p in z["ok_paths"]], units


def fuse_parts(units: dict[str, Any], weights: dict[str, float]) -> np.ndarray:  # type: ignore[type-arg]
    """``[sqrt(w_i) v_i]``: its inner product is the weighted sum of the parts' cosines."""
    tot = sum(weights.values())
    return np.concatenate([np.sqrt(w / tot) * units[k] for k, w in weights.items()], axis=1).astype(
        np.float32
    )


def impostor_sd(root: Path, paths: list[str], x: np.ndarray) -> float:  # type: ignore[type-arg]
    where = {p: i for i, p in enumerate(paths)}
    rows = [(n, where.get(str(p.resolve()))) for n, ps in list_identities(root).items() for p in ps]
    rows = [(n, i) for n, i in rows if i is not None and np.isfinite(x[i]).all()]  # FTA dropped
    idx = np.array([i for _, i in rows])
    _, imp = all_pairs([n for n, _ in rows])
    return float(pair_scores(x[idx], imp).std())


COMBOS: dict[str, tuple[str, ...]] = {
    "dlib": ("d",),
    "SFace": ("s",),
    "EdgeFace v2 (as served, default)": ("eg",),
    "EdgeFace v2 (face-mesh points, every crop kept)": ("em",),
    "EdgeFace v1 (v2 fusion's points)": ("e",),
    "EdgeFace (YuNet points)": ("ey",),
    "EdgeFace (dlib points)": ("ed",),
    "EdgeFace v1, no mirror": ("e-noflip",),
    "EdgeFace v2, no mirror": ("em-noflip",),
    "w600k_mbf (reference, non-commercial)": ("m",),
    "dlib + SFace (v2 default)": ("d", "s"),
    "EdgeFace + dlib": ("e", "d"),
    "EdgeFace + SFace": ("e", "s"),
    "EdgeFace + dlib + SFace": ("e", "d", "s"),
    "EdgeFace v2 + dlib": ("eg", "d"),
    "EdgeFace v2 + SFace": ("eg", "s"),
    "w600k_mbf + dlib (reference)": ("m", "d"),
}
FIXED: dict[str, dict[str, float]] = {
    "EdgeFace 0.7 + SFace 0.3": {"e": 0.7, "s": 0.3},
    "EdgeFace 0.8 + SFace 0.2": {"e": 0.8, "s": 0.2},
    "EdgeFace 0.7 + dlib 0.3": {"e": 0.7, "d": 0.3},
    "EdgeFace 0.8 + dlib 0.2": {"e": 0.8, "d": 0.2},
    "EdgeFace 0.6 + dlib 0.2 + SFace 0.2": {"e": 0.6, "d": 0.2, "s": 0.2},
    "EdgeFace, v2-point and YuNet-point crops averaged": {"e+ey": 1.0},
    "EdgeFace, mesh-point and v2-point crops averaged": {"em+e": 1.0},
    "EdgeFace v2 0.8 + dlib 0.2": {"eg": 0.8, "d": 0.2},
}
"""Fixed weights ``table`` also reports (the z-norm weights favour dlib; these do not)."""


_DUP: dict[str, Any] = {}  # the dlib templates: every row merges the same folders


def _metrics(root: Path, st: Settings, o: dict[str, Any], groups: Any, name: str) -> Any:
    return evaluate_face(
        root,
        st,
        outcomes=o,
        groups=groups,
        label=name,
        duplicate_outcomes=_DUP or None,
        seed=SPLIT_SEED[0],
    )


def _ratio(by_group: dict[str, float]) -> float | None:
    """worst / best; ``inf`` where the best group has no errors at all (small counts)."""
    if len(by_group) < 2:
        return None
    lo, hi = min(by_group.values()), max(by_group.values())
    return round(hi / lo, 2) if lo > 0 else float("inf")


def _row(name: str, m: dict[str, Any]) -> dict[str, Any]:
    g = {k: v for k, v in m.get("per_group", {}).get("groups", {}).items() if k != "unknown"}
    fn = {k: v["fnir_at_global_threshold"] for k, v in g.items()}
    fp = {k: v["fpir_at_global_threshold"] for k, v in g.items()}
    boot = m.get("per_group", {}).get("bootstrap", {})
    return {
        "config": name,
        "rank1": round(m["rank1"], 4),
        "fnir@0.1": round(m["fnir_at_fpir_0.1"], 4),
        "fnir@0.01": round(m["fnir_at_fpir_0.01"], 4),
        "fnir@0.001": round(m["fnir_at_fpir_0.001"], 4),
        "fta": round(m["failure_to_acquire"], 4),
        "eer": round(m["verification"]["eer"], 4),
        "fnir_by_group": {k: round(v, 4) for k, v in fn.items()},
        "fpir_by_group": {k: round(v, 4) for k, v in fp.items()},
        "fnir_ratio": _ratio(fn),
        "fpir_ratio": _ratio(fp),
        "fnir_ratio_90": boot.get("fnir_ratio_interval"),
        "fpir_ratio_90": boot.get("fpir_ratio_interval"),
    }


def _print(rows: list[dict[str, Any]]) -> None:
    print("| configuration | weights | rank-1 | FNIR@FPIR 0.1 | 0.01 | 0.001 | EER |"
          " FNIR w/b | FPIR w/b |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r.get('weights', '')} | {r['rank1']:.3f} |"
              f" {r['fnir@0.1']:.3f} | {r['fnir@0.01']:.3f} | {r['fnir@0.001']:.3f} |"
              f" {r['eer']:.3f} | {r['fnir_ratio']}{_ci(r, 'fnir')} |"
              f" {r['fpir_ratio']}{_ci(r, 'fpir')} |")  # fmt: skip


def _ci(r: dict[str, Any], kind: str) -> str:
    """The bootstrap 90 % interval over identities (``fortify.eval.bootstrap``)."""
    v = r.get(f"{kind}_ratio_90")
    return f" [{v[0]:.2f}, {v[1]:.2f}]" if v else ""


def _weights(root: Path, paths: list[str], units: dict[str, Any], keys: tuple[str, ...]) -> Any:
    if len(keys) == 1:
        return {keys[0]: 1.0}
    inv = {k: 1.0 / impostor_sd(root, paths, units[k]) for k in keys}
    tot = sum(inv.values())
    return {k: round(v / tot, 3) for k, v in inv.items()}


def _outcomes(fails: dict[str, str], paths: list[str], x: Any) -> dict[str, Any]:
    """path -> template, or failure code (a NaN row: refused by the served model)."""
    o: dict[str, Any] = dict(fails)
    o.update(
        {p: v if np.isfinite(v).all() else "quality_too_low" for p, v in zip(paths, x, strict=True)}
    )
    return o


def cmd_table(root: Path, out: Path, home: Path, groups_csv: Path | None) -> None:
    fails, paths, units = load(out)
    groups = read_groups(groups_csv, GROUP_COLUMN[0]) if groups_csv else None
    st = Settings(home=home, detector="yunet", face_model="dlib-resnet-v1")
    rows = []
    runs: dict[str, Any] = {**COMBOS, **FIXED}
    if ONLY:
        runs = {k: v for k, v in runs.items() if any(o in k for o in ONLY)}
    for name, keys in runs.items():
        if not all(k in units for k in keys):
            continue
        w = keys if isinstance(keys, dict) else _weights(root, paths, units, keys)
        o = _outcomes(fails, paths, fuse_parts(units, w))
        rows.append(_row(name, _metrics(root, st, o, groups, name).metrics) | {"weights": w})
        print(json.dumps(rows[-1]), flush=True)
    suffix = f"-seed{SPLIT_SEED[0]}" if SPLIT_SEED[0] else ""
    (out / f"table3{suffix}.json").write_text(json.dumps(rows, indent=1))
    _print(rows)


def halves(root: Path, out: Path, seed: int) -> tuple[Path, Path]:
    ids = sorted(p for p in root.iterdir() if p.is_dir())
    order = np.random.default_rng(seed).permutation(len(ids))
    dirs = (out / f"fit-s{seed}", out / f"test-s{seed}")
    for k, d in enumerate(dirs):
        d.mkdir(parents=True, exist_ok=True)
        for i in order[k::2]:
            if not (d / ids[i].name).exists():
                (d / ids[i].name).symlink_to(ids[i].resolve())
    return dirs


def cmd_fit(root: Path, out: Path, home: Path, groups_csv: Path | None, seed: int) -> None:
    """Weights from one half, every configuration and the calibration on the other."""
    fails, paths, units = load(out)
    groups = read_groups(groups_csv, GROUP_COLUMN[0]) if groups_csv else None
    st = Settings(home=home, detector="yunet", face_model="dlib-resnet-v1")
    fit_root, test_root = halves(root, out, seed)
    rows, cal_rows = [], []
    combos: dict[str, Any] = dict(COMBOS)
    for other in ("d", "s"):  # a grid over EdgeFace v2's share, chosen on the fit half
        grid = {}
        for we in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            o = _outcomes(fails, paths, fuse_parts(units, {"eg": we, other: 1 - we}))
            grid[we] = _metrics(fit_root, st, o, groups, "grid").metrics
        best = min(grid, key=lambda w: (grid[w]["fnir_at_fpir_0.01"], -grid[w]["rank1"]))
        print(json.dumps({other: {w: round(m["fnir_at_fpir_0.01"], 4) for w, m in grid.items()}}))
        combos[f"EdgeFace v2 + {other}, grid w={best} (fit half)"] = {"eg": best, other: 1 - best}
    for name, keys in combos.items():
        if isinstance(keys, dict):
            w = keys
        elif not all(k in units for k in keys):
            continue
        else:
            w = _weights(fit_root, paths, units, keys)
        o = _outcomes(fails, paths, fuse_parts(units, w))
        rows.append(_row(name, _metrics(test_root, st, o, groups, name).metrics) | {"weights": w})
        print(json.dumps(rows[-1]), flush=True)
        if len(w) < 2 and not {"e", "em", "eg"} & set(w):
            continue
        for a, b, tag in ((fit_root, test_root, "fit->test"), (test_root, fit_root, "test->fit")):
            ra = _metrics(a, st, o, groups, "cal")
            rb = _metrics(b, st, o, groups, "cal-test")
            assert ra.impostor_table is not None and rb.nonmated_top is not None
            cal = Calibration("x", ra.impostor_table, tag, {})
            for target in (0.1, 0.01):
                thr, limited = cal.threshold(target, rb.gallery_templates)
                n = int(rb.metrics["n_nonmated"])
                hits = int((rb.nonmated_top >= thr).sum())
                cal_rows.append(
                    {
                        "config": name,
                        "split": tag,
                        "target": target,
                        "threshold": round(thr, 4),
                        "achieved": round(hits / max(1, n), 4),
                        "false_positives": hits,
                        "nonmated": n,
                        "limited": limited,
                    }
                )
                print(json.dumps(cal_rows[-1]), flush=True)
    (out / f"fit3-s{seed}.json").write_text(json.dumps({"test": rows, "cal": cal_rows}, indent=1))
    _print(rows)
    print(
        "\n| configuration | fitted on -> applied to | target | achieved FPIR | FPs / non-mated |"
    )
    print("|---|---|---|---|---|")
    for c in cal_rows:
        print(f"| {c['config']} | {c['split']} | {c['target']} | {c['achieved']:.4f} |"
              f" {c['false_positives']} / {c['nonmated']} |")  # fmt: skip


def cmd_calcheck(root: Path, out: Path, home: Path, seed: int, parts: str) -> None:
    """Calibration fitted on one half, applied to the other: pooled vs per-probe tail.

    Galleries of one photo per identity (~50 templates) and of all but one (~1,000).
    ``parts`` picks the template: ``eg`` (EdgeFace v2 as served), ``em`` (v2, every crop
    kept), ``e`` (EdgeFace v1) or ``d+s`` (the fused v2, 0.7 / 0.3).
    """
    from fortify.matching.calibration import Calibration

    fails, paths, units = load(out)
    st = Settings(home=home, detector="yunet", face_model="dlib-resnet-v1")
    fit_root, test_root = halves(root, out, seed)
    w = {parts: 1.0} if parts in ("e", "em", "eg") else {"d": 0.7, "s": 0.3}
    o = _outcomes(fails, paths, fuse_parts(units, w))
    head = "| fitted on -> applied to | enrolled | gallery | target |"
    print(head + " pooled: threshold, achieved (FPs) | per probe: threshold, achieved (FPs) |"
          " per probe + normal tail (shipped) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for a, b, tag in ((fit_root, test_root, "fit -> test"), (test_root, fit_root, "test -> fit")):
        ra = evaluate_face(a, st, outcomes=o, label="cal", duplicate_outcomes=_DUP, probe_tail=True)
        assert ra.impostor_table is not None
        pooled = Calibration("x", ra.impostor_table, tag, {})
        per = Calibration("x", ra.impostor_table, tag, {}, ra.probe_tail)
        normal = fit_normal_tail(ra.impostor_table)
        shipped = Calibration("x", ra.impostor_table, tag, {}, ra.probe_tail, normal)
        for enroll in ("one", "all_but_one"):
            rb = evaluate_face(b, st, outcomes=o, label="t", enroll=enroll, duplicate_outcomes=_DUP)  # type: ignore[arg-type]
            assert rb.nonmated_top is not None
            n, top = rb.gallery_templates, rb.nonmated_top
            for target in (0.1, 0.01):
                cells = []
                for cal in (pooled, per, shipped):
                    t, _ = cal.threshold(target, n)
                    h = int((top >= t).sum())
                    cells.append(f"{t:.3f}, {h / len(top):.4f} ({h}/{len(top)})")
                print(f"| {tag} | {enroll} | {n} | {target} | {' | '.join(cells)} |")


def cmd_latency(root: Path, home: Path, n: int) -> None:
    """Per-stage latency of a probe with the default model (``edgeface-s-v2``), medians.

    Run pinned to one core (``taskset -c 1``); onnxruntime and OpenCV use one thread.
    """
    eng = Engine(Settings(home=home, embed_threads=1)).prepare()
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor)

    def template(im: Any, det: Any, timed: Timed) -> None:
        crop = timed("face mesh + alignment", ex.crop, im, det)
        timed("EdgeFace x2 (face + mirror)", ex.unit_vectors, np.stack([crop, crop[:, ::-1]]))

    probe_latency(eng, root, n, template)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["extract", "table", "fit", "calcheck", "latency"])
    ap.add_argument(
        "--parts", default="eg", choices=["eg", "em", "e", "d+s"], help="calcheck: template"
    )
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/edge"))
    ap.add_argument("--home", type=Path, default=Settings().home)
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--group-column", default=None, help="the groups CSV's column (sex, age)")
    ap.add_argument("--n", type=int, default=100, help="latency: photos timed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1, help="fit, calcheck: the halves' seed")
    ap.add_argument("--split-seed", type=int, default=0, help="table: the eval split's seed")
    ap.add_argument("--only", action="append", default=[], help="table: configurations whose"
                    " names contain this (repeatable)")  # fmt: skip
    ap.add_argument("--mbf", default="", help="extract: w600k_mbf ONNX file (reference only)")
    a = ap.parse_args()
    GROUP_COLUMN[0] = a.group_column
    SPLIT_SEED[0] = a.split_seed
    ONLY[:] = a.only
    if a.cmd == "latency":
        cmd_latency(a.root, a.home, a.n)
    elif a.cmd == "calcheck":
        cmd_calcheck(a.root, a.out, a.home, a.seed, a.parts)
    elif a.cmd == "extract":
        cmd_extract(a.root, a.out, a.home, a.workers, a.mbf)
    elif a.cmd == "table":
        cmd_table(a.root, a.out, a.home, a.groups)
    else:
        cmd_fit(a.root, a.out, a.home, a.groups, a.seed)


if __name__ == "__main__":
    main()
