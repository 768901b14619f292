"""Per-face embedding time on one core: dlib's ResNet vs the same network in onnxruntime.

    .venv/bin/python bench/bench_embed.py [--faces 50] [--rounds 3] [--no-pin]

Detects and aligns ``--faces`` real CelebA faces (dlib HOG + 5 landmarks +
get_face_chip, 150x150), then times chip -> 128-d descriptor, one chip per call,
for dlib (``compute_face_descriptor``) and for the ONNX conversion at each
onnxruntime graph-optimisation level, with ``OMP_NUM_THREADS=1``,
``intra_op_num_threads=1`` and the process pinned to one CPU. Prints p50/p90 ms,
the ratio to dlib's p50 and the largest element-wise difference from dlib's
descriptors.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy / dlib / onnxruntime load
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "faces" / "celeba"
Chip = np.ndarray[Any, Any]


def load_chips(data: Path, n: int) -> list[Chip]:
    import cv2
    import dlib

    from fortify.modalities.face.weights import weights_path

    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(str(weights_path("landmarks5")))
    chips: list[Chip] = []
    for f in sorted(data.resolve().glob("*/*.jpg")):
        bgr = cv2.imread(str(f))
        if bgr is None:
            continue
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rects = detector(img, 1)
        if rects:
            chip = dlib.get_face_chip(img, shapes(img, rects[0]), size=150, padding=0.25)
            chips.append(np.ascontiguousarray(chip))
        if len(chips) == n:
            break
    return chips


def time_backend(
    fn: Callable[[Chip], np.ndarray[Any, Any]], chips: list[Chip], rounds: int
) -> tuple[list[float], list[np.ndarray[Any, Any]]]:
    for chip in chips[:3]:
        fn(chip)  # warm-up
    times: list[float] = []
    outs: list[np.ndarray[Any, Any]] = []
    for r in range(rounds):
        for chip in chips:
            t0 = time.perf_counter()
            out = fn(chip)
            times.append((time.perf_counter() - t0) * 1000.0)
            if r == 0:
                outs.append(np.asarray(out, dtype=np.float64).reshape(-1))
    return times, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--faces", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--levels", default="disable,basic,extended,all")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    a = ap.parse_args()

    if not a.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    import dlib
    import onnxruntime as ort

    from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor
    from fortify.modalities.face.weights import weights_path

    chips = load_chips(a.data, a.faces)
    if not chips:
        raise SystemExit(f"no faces found under {a.data}")
    net = dlib.face_recognition_model_v1(str(weights_path("resnet")))
    rows: list[tuple[str, list[float], float]] = []
    dlib_times, ref = time_backend(
        lambda c: np.asarray(net.compute_face_descriptor(c)), chips, a.rounds
    )
    rows.append(("dlib (dlib-bin, no BLAS)", dlib_times, 0.0))

    with tempfile.TemporaryDirectory(prefix="fortify-bench-embed-") as tmp:
        t0 = time.perf_counter()
        OnnxDlibExtractor(Path(tmp))  # converts once; later levels reuse the cached file
        convert_s = time.perf_counter() - t0
        for level in a.levels.split(","):
            ex = OnnxDlibExtractor(Path(tmp), intra_op_num_threads=1, optimization=level)
            times, outs = time_backend(ex.descriptors, chips, a.rounds)
            diff = max(float(np.abs(o - r).max()) for o, r in zip(outs, ref, strict=True))
            rows.append((f"onnxruntime opt={level}", times, diff))

    base = float(np.percentile(dlib_times, 50))
    cpu = platform.processor() or platform.machine()
    print(
        f"{len(chips)} chips x {a.rounds} rounds, 1 thread, pinned={not a.no_pin}, "
        f"onnxruntime {ort.__version__}, dlib {dlib.__version__}, cpu {cpu}, "
        f"first conversion + session {convert_s:.2f} s"
    )
    header = f"{'backend':<28} {'p50 ms':>8} {'p90 ms':>8} {'x dlib':>8} {'max|diff|':>10}"
    print(header)
    print("-" * len(header))
    for name, times, diff in rows:
        p50, p90 = np.percentile(times, 50), np.percentile(times, 90)
        print(f"{name:<28} {p50:8.2f} {p90:8.2f} {base / p50:7.1f}x {diff:10.2e}")


if __name__ == "__main__":
    main()
