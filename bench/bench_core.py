"""Enrolment throughput and identify latency of the core service on real photos.

    .venv/bin/python bench/bench_core.py [--identities 200] [--per-identity 2] [--probes 50]

Enrols ``identities x per-identity`` CelebA photos (1 and 2 worker processes),
then times ``--probes`` searches end to end (decode + detect + template + index
search + audit write) and each stage separately. Prints a table and writes
bench/results/core.json.

The model files are converted once into a shared cache before the timed runs, so the
enrolment figures are the steady service, not the one-time conversion of a fresh home.
Each run also reports its start-up (until the first result: worker model loading) and
the CPU time per image of the parent and its workers together: on a shared machine the
wall rate says little, and ``cores * 1000 / cpu_ms`` is what that many free cores allow.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_policy import train_bench, unlimited_policy  # bench/ is on the path
from rich.console import Console
from rich.table import Table

from fortify.accountability.operators import local_operator
from fortify.cli.common import Ctx
from fortify.cli.enroll import enroll_dir
from fortify.errors import FortifyError
from fortify.modalities.face.engine import Engine

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "faces" / "celeba"


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000.0, q))


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (the enrolment workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DATA.resolve())
    ap.add_argument("--identities", type=int, default=200)
    ap.add_argument("--per-identity", type=int, default=2)
    ap.add_argument("--probes", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "core.json")
    a = ap.parse_args()
    console = Console()
    results: dict[str, object] = {}
    tmp = Path(tempfile.mkdtemp(prefix="fortify-bench-"))
    try:
        models = tmp / "models"
        for workers in (1, 2):
            ctx = Ctx(tmp / f"home{workers}", None)
            ctx.settings = ctx.settings.model_copy(update={"policy_file": unlimited_policy(tmp)})
            if not models.exists():  # convert once, outside the timed runs
                Engine(ctx.settings.model_copy(update={"home": tmp})).prepare_files()
            ctx.settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            (ctx.settings.home / "models").symlink_to(models, target_is_directory=True)
            cpu0 = cpu_seconds()
            s = enroll_dir(
                ctx,
                a.data,
                source="bench",
                face="largest",
                workers=workers,
                quiet=True,
                limit_identities=a.identities,
                max_per_identity=a.per_identity,
            )
            cpu_ms = (cpu_seconds() - cpu0) * 1000 / max(1, s["enrolled"])
            results[f"enroll_workers_{workers}"] = {
                "images": s["enrolled"],
                "seconds": s["seconds"],
                "images_per_second": s["images_per_second"],
                "first_result_seconds": s["first_result_seconds"],
                "cpu_ms_per_image": round(cpu_ms, 1),
                "cpu_bound_images_per_second": round(workers * 1000 / cpu_ms, 1),
                "rejected": s["rejected"],
            }
            if workers == 2:
                gallery = ctx.gallery
            else:
                ctx.close()
        # probes: images of enrolled identities not used for enrolment
        probes: list[Path] = []
        for d in sorted(p for p in a.data.iterdir() if p.is_dir())[: a.identities]:
            probes += sorted(d.glob("*.jpg"))[a.per_identity : a.per_identity + 1]
        probes = probes[: a.probes]
        op = local_operator()
        train_bench(gallery, op.name)
        eng = gallery.engine
        stages: dict[str, list[float]] = {k: [] for k in ("decode", "detect", "template", "search")}
        total: list[float] = []
        gallery.identify(probes[0], operator=op, purpose="benchmark warm-up", face="largest")
        for p in probes:
            data = p.read_bytes()
            t0 = time.perf_counter()
            img = eng.load(data)
            t1 = time.perf_counter()
            dets = eng.detect(img)
            t2 = time.perf_counter()
            if dets:
                det = max(dets, key=lambda d: d.bbox.area)
                tpl = eng.extract(img, det)
                t3 = time.perf_counter()
                gallery.index.search(tpl.vector[None, :], 10)
                t4 = time.perf_counter()
                stages["decode"].append(t1 - t0)
                stages["detect"].append(t2 - t1)
                stages["template"].append(t3 - t2)
                stages["search"].append(t4 - t3)
            t5 = time.perf_counter()
            with contextlib.suppress(FortifyError):
                gallery.identify(data, operator=op, purpose="benchmark", face="largest")
            total.append(time.perf_counter() - t5)
        results["identify"] = {
            "probes": len(total),
            "gallery_templates": gallery.index.ntotal,
            "p50_ms": round(pct(total, 50), 1),
            "p90_ms": round(pct(total, 90), 1),
            "stages_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items() if v},
        }
        gallery.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t = Table(title="Fortify core benchmark (this machine)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for w in (1, 2):
        e = results[f"enroll_workers_{w}"]
        assert isinstance(e, dict)
        t.add_row(
            f"enrol, {w} worker(s)", f"{e['images_per_second']} images/s ({e['images']} images)"
        )
        t.add_row("  start-up (first result)", f"{e['first_result_seconds']} s")
        t.add_row(
            "  CPU per image (parent + workers)",
            f"{e['cpu_ms_per_image']} ms -> {e['cpu_bound_images_per_second']} images/s"
            f" on {w} free core(s)",
        )
    ident = results["identify"]
    assert isinstance(ident, dict)
    t.add_row("identify p50 (end to end)", f"{ident['p50_ms']} ms")
    t.add_row("identify p90 (end to end)", f"{ident['p90_ms']} ms")
    for k, v in ident["stages_p50_ms"].items():
        t.add_row(f"  stage p50: {k}", f"{v} ms")
    t.add_row("gallery size", f"{ident['gallery_templates']} templates")
    console.print(t)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2))
    console.print(f"written {a.out}")


if __name__ == "__main__":
    main()
