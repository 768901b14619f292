"""Face-model fusion on the dev data: extract the parts once, learn the weight, check calibration.

    nice python bench/bench_fusion.py extract ../shared/data/faces/celeba --out /tmp/face13
    nice python bench/bench_fusion.py fit ../shared/data/faces/celeba --out /tmp/face13 \
        --groups ../shared/data/faces/celeba-groups.csv
    nice python bench/bench_fusion.py table ../shared/data/faces/celeba \
        --groups ../shared/data/faces/celeba-groups.csv --plots docs/eval

``extract`` runs YuNet (cascade fallback) once per image and stores, for the face
``fortify eval face`` would use, the unit dlib and SFace templates of the face and of its
mirror image. It then seeds ``fortify eval face``'s template cache (under
``$FORTIFY_HOME/eval-cache``) for YuNet+dlib, YuNet+SFace and the fused model, so each
configuration's ``fortify eval face`` run reads exactly these templates (the fused
extractor computes the same vectors; tests/unit/modalities/face/test_fused.py).

``fit`` splits the identities in two halves (seeded). On the *fit* half it learns the
fused weight (grid over w, minimum FNIR at FPIR 0.01; and the z-normalisation weight from
the impostor standard deviations) and fits a calibration table; on the *test* half,
never used for fitting, it reports every configuration and the FPIR the fit half's
calibrated threshold achieves there.
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
from fortify.eval.face import evaluate_face, read_groups
from fortify.eval.protocol import list_identities
from fortify.eval.templates import Outcome, _save, cache_key
from fortify.matching.calibration import Calibration
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.fused import DLIB_WEIGHT, FusedExtractor, fuse

_eng: Engine | None = None
PARTS = ("d0", "d1", "s0", "s1")  # dlib / SFace, face / mirror image


def _init(home: str) -> None:
    global _eng
    _eng = Engine(Settings(home=Path(home), face_model="fused-dlib-sface-v1")).prepare()


def _one(path: str) -> np.ndarray:  # type: ignore[type-arg]
    assert _eng is not None
    im, det, ex = fused_face(_eng, path)
    crop = ex.sface.crop(im, det)
    parts = [with_mirror(ex.dlib.extract_chip, det.chip), with_mirror(ex.sface.extract_chip, crop)]
    return np.concatenate(parts).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def configs(parts: dict[str, Any], w: float, sface_flip: bool = True) -> dict[str, Any]:
    """Templates of each configuration from the stored parts (failures stay codes)."""
    out: dict[str, dict[str, Outcome]] = {"yunet-dlib": {}, "yunet-sface": {}, "fused": {}}
    for p, v in parts.items():
        if isinstance(v, str):
            for c in out.values():
                c[p] = v
            continue
        d = _unit(v[0] + v[1])
        s = _unit(v[2] + v[3]) if sface_flip else v[2]
        out["yunet-dlib"][p], out["yunet-sface"][p] = d, s
        out["fused"][p] = fuse(d, s, w)
    return out


def settings_of(name: str, home: Path) -> Settings:
    model = {"yunet-dlib": "dlib-resnet-v1", "yunet-sface": "sface-2021dec"}.get(
        name, "fused-dlib-sface-v1"
    )
    return Settings(home=home, detector="yunet", face_model=model)  # type: ignore[arg-type]


def load_parts(out: Path) -> dict[str, Any]:
    z = np.load(out / "parts.npz", allow_pickle=False)
    parts: dict[str, Any] = {str(p): v for p, v in zip(z["ok_paths"], z["ok"], strict=True)}
    parts.update({str(p): str(c) for p, c in zip(z["fail_paths"], z["fail_codes"], strict=True)})
    return parts


def cmd_extract(root: Path, out: Path, home: Path, workers: int) -> None:
    results, secs, wall = extract_all(root, workers, _init, (str(home),), _one)
    ok, fail = split_results(results)
    save_parts(out / "parts.npz", [p for p, _ in ok], fail, ok=np.stack([v for _, v in ok]))
    print(
        f"{len(results)} images, {len(fail)} failures, {len(results) / wall:.1f} img/s with"
        f" {workers} workers, p50 {np.median(secs) * 1000:.1f} ms/image (4 templates)"
    )
    seed_caches(out, home)


def seed_caches(out: Path, home: Path) -> None:
    for name, outcomes in configs(load_parts(out), DLIB_WEIGHT).items():
        key = cache_key(settings_of(name, home))
        (home / "eval-cache").mkdir(parents=True, exist_ok=True)
        _save(home / "eval-cache" / f"templates-{key}.npz", outcomes)
        print(f"seeded eval cache {key} for {name}")


def halves(root: Path, out: Path, seed: int) -> tuple[Path, Path]:
    """Two symlinked folders, each with half of the identities (seeded)."""
    ids = sorted(p for p in root.iterdir() if p.is_dir())
    order = np.random.default_rng(seed).permutation(len(ids))
    dirs = (out / f"fit-s{seed}", out / f"test-s{seed}")
    for k, d in enumerate(dirs):
        d.mkdir(parents=True, exist_ok=True)
        for i in order[k::2]:
            link = d / ids[i].name
            if not link.exists():
                link.symlink_to(ids[i].resolve())
    return dirs


def _row(name: str, m: dict[str, Any]) -> dict[str, Any]:
    g = m.get("per_group", {})
    fn = {k: v.get("fnir_at_global_threshold") for k, v in g.get("groups", {}).items()}
    vals = [v for v in fn.values() if v]
    return {
        "config": name,
        "rank1": round(m["rank1"], 4),
        "fnir@0.01": round(m["fnir_at_fpir_0.01"], 4),
        "fnir@0.001": round(m["fnir_at_fpir_0.001"], 4),
        "fta": round(m["failure_to_acquire"], 4),
        "fnir_by_group": fn,
        "fnir_ratio": round(max(vals) / min(vals), 2) if len(vals) > 1 else None,
        "fpir_ratio": g.get("fpir_ratio_worst_to_best"),
    }


def cmd_fit(root: Path, out: Path, home: Path, groups_csv: Path | None, seed: int) -> None:
    parts = load_parts(out)
    fit_root, test_root = halves(root, out, seed)
    groups = read_groups(groups_csv) if groups_csv else None
    s = settings_of("fused", home)

    def run(r: Path, o: dict[str, Outcome], name: str) -> Any:
        return evaluate_face(r, s, outcomes=o, groups=groups, label=name)

    grid = [round(x, 2) for x in np.arange(0.2, 0.81, 0.05)]
    fit = {w: run(fit_root, configs(parts, w)["fused"], "fit").metrics for w in grid}
    best = min(grid, key=lambda w: (fit[w]["fnir_at_fpir_0.01"], -fit[w]["rank1"]))
    base = configs(parts, 0.5)
    # z-normalisation: w proportional to 1 / impostor sd (from the tables' score spread)
    sd_d = _impostor_sd(fit_root, base["yunet-dlib"])
    sd_s = _impostor_sd(fit_root, base["yunet-sface"])
    w_z = round((1 / sd_d) / (1 / sd_d + 1 / sd_s), 3)
    report: dict[str, Any] = {
        "seed": seed,
        "fit_grid": {str(w): round(fit[w]["fnir_at_fpir_0.01"], 4) for w in grid},
        "w_best_fit": best,
        "w_znorm": w_z,
        "impostor_sd": [sd_d, sd_s],
        "test": [],
    }
    tests = {
        "yunet-dlib": base["yunet-dlib"],
        "yunet-sface": base["yunet-sface"],
        "yunet-sface (no flip)": configs(parts, 0.5, sface_flip=False)["yunet-sface"],
        f"fused w={best} (fit)": configs(parts, best)["fused"],
        f"fused w={w_z} (z-norm)": configs(parts, w_z)["fused"],
        f"fused w={best}, SFace no flip": configs(parts, best, sface_flip=False)["fused"],
    }
    for name, o in tests.items():
        report["test"].append(_row(name, run(test_root, o, name).metrics))
    # calibration fitted on one half, its threshold applied on the other (both ways)
    w = DLIB_WEIGHT
    report["calibration"] = []
    for a, b, tag in ((fit_root, test_root, "fit->test"), (test_root, fit_root, "test->fit")):
        cal_fit = run(a, configs(parts, w)["fused"], "cal")
        tst = run(b, configs(parts, w)["fused"], "cal-test")
        assert cal_fit.impostor_table is not None and tst.nonmated_top is not None
        cal = Calibration("fused", cal_fit.impostor_table, tag, {})
        for target in (0.1, 0.01):
            thr, limited = cal.threshold(target, tst.gallery_templates)
            hits = int((tst.nonmated_top >= thr).sum())
            n = int(tst.metrics["n_nonmated"])
            report["calibration"].append(
                {
                    "split": tag,
                    "w": w,
                    "target_fpir": target,
                    "gallery": tst.gallery_templates,
                    "threshold": round(thr, 4),
                    "resolution_limited": limited,
                    "achieved_fpir": round(hits / max(1, n), 4),
                    "nonmated": n,
                }
            )
    print(json.dumps(report, indent=1))
    (out / f"fit-s{seed}.json").write_text(json.dumps(report, indent=1))


def _impostor_sd(r: Path, o: dict[str, Outcome]) -> float:
    from fortify.eval.protocol import all_pairs

    folders = list_identities(r)
    rows = [(n, o[str(p.resolve())]) for n, ps in folders.items() for p in ps]
    rows = [(n, v) for n, v in rows if not isinstance(v, str)]
    x = np.stack([v for _, v in rows])
    _, imp = all_pairs([n for n, _ in rows])
    sc = np.einsum("ij,ij->i", x[imp[:, 0]], x[imp[:, 1]])
    return round(float(sc.std()), 5)


def cmd_table(root: Path, home: Path, groups_csv: Path | None, plots: Path | None) -> None:
    """The bake-off: every configuration through ``evaluate_face``, same protocol, seed 0."""
    groups = read_groups(groups_csv) if groups_csv else None
    cfgs = {
        "cascade + dlib (old default)": Settings(
            home=home, detector="cascade", face_model="dlib-resnet-v1"
        ),
        "YuNet + dlib": settings_of("yunet-dlib", home),
        "YuNet + SFace": settings_of("yunet-sface", home),
        f"YuNet + fused w={DLIB_WEIGHT} (default)": settings_of("fused", home),
    }
    curves = {}
    print("| pipeline | rank-1 | FNIR@FPIR 0.1 | FNIR@FPIR 0.01 | FNIR@FPIR 0.001 | FTA |"
          " FNMR@FMR 1e-3 | EER |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    group_rows = []
    for name, st in cfgs.items():
        rep = evaluate_face(root, st, cache_dir=home / "eval-cache", groups=groups, label=name)
        m = rep.metrics
        curves.update({k: v for k, v in rep.curves.items() if v.kind == "identification"})
        print(
            f"| {name} | {m['rank1']:.3f} | {m['fnir_at_fpir_0.1']:.3f} |"
            f" {m['fnir_at_fpir_0.01']:.3f} | {m['fnir_at_fpir_0.001']:.3f} |"
            f" {m['failure_to_acquire']:.4f} | {m['fnmr_at_fmr_0.001']:.3f} |"
            f" {m['verification']['eer']:.3f} |"
        )
        if "per_group" in m:
            g = {k: v for k, v in m["per_group"]["groups"].items() if k != "unknown"}
            fn = {k: v["fnir_at_global_threshold"] for k, v in g.items()}
            fp = {k: v["fpir_at_global_threshold"] for k, v in g.items()}
            cells = " | ".join(f"{fn[k]:.3f} / {fp[k]:.4f}" for k in sorted(g))
            rf = max(fn.values()) / max(min(fn.values()), 1e-9)
            rp = max(fp.values()) / max(min(fp.values()), 1e-9)
            group_rows.append(f"| {name} | {cells} | {rf:.2f} | {rp:.2f} |")
            heads = sorted(g)
    if group_rows:
        print()
        print("| pipeline | " + " | ".join(f"{h} FNIR / FPIR" for h in heads)
              + " | FNIR worst/best | FPIR worst/best |")  # fmt: skip
        print("|---|" + "---|" * (len(heads) + 2))
        print("\n".join(group_rows))
    if plots is not None:
        from fortify.eval.plots import plot_det

        plots.mkdir(parents=True, exist_ok=True)
        files = plot_det(curves, plots / "det_bakeoff.png", title="Open-set 1:N DET: bake-off")
        print("DET plot:", *files)


def cmd_latency(root: Path, home: Path, n: int) -> None:
    """Per-stage latency of a probe on one core: wall and CPU (process) time, median."""
    eng = Engine(Settings(home=home, embed_threads=1, face_model="fused-dlib-sface-v2")).prepare()
    ex = eng.extractor
    assert isinstance(ex, FusedExtractor)

    def template(im: Any, det: Any, timed: Timed) -> None:
        timed("dlib ResNet x2 (flip)", ex._unit, ex.dlib, det.chip)
        crop = timed("SFace alignment", ex.sface.crop, im, det)
        timed("SFace x2 (flip)", ex._unit, ex.sface, crop)

    probe_latency(eng, root, n, template)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["extract", "seed", "fit", "table", "latency"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/face13"))
    ap.add_argument("--home", type=Path, default=Settings().home)
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plots", type=Path, default=None)
    ap.add_argument("--n", type=int, default=200, help="latency: photos timed")
    a = ap.parse_args()
    if a.cmd == "extract":
        cmd_extract(a.root, a.out, a.home, a.workers)
    elif a.cmd == "latency":
        cmd_latency(a.root, a.home, a.n)
    elif a.cmd == "table":
        cmd_table(a.root, a.home, a.groups, a.plots)
    elif a.cmd == "seed":
        seed_caches(a.out, a.home)
    else:
        cmd_fit(a.root, a.out, a.home, a.groups, a.seed)


if __name__ == "__main__":
    main()
