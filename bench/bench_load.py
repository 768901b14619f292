"""Bounded HTTP load test on loopback: the full search path at a large gallery.

    .venv/bin/python bench/bench_load.py --templates 1000000 --clients 4 --duration 60

1. Builds a gallery: ``--real`` CelebA identities enrolled through the service, plus
   ``--templates`` synthetic templates (clearly marked synthetic, bench-only) bulk
   loaded into the SQL store with their change-log rows; the index is built from SQL.
2. Starts ``fortify serve --workers W`` on 127.0.0.1 and an officer token.
3. ``--clients`` concurrent clients POST real probe photos to /v1/searches for
   ``--duration`` seconds (bounded), while one supervisor client enrols photos, to
   show that searches do not block enrolment.
Reports sustained searches/s, latency p50/p99, errors, enrolment latency under load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from bench_policy import train_bench, unlimited_policy  # bench/ is on the path
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import insert

from fortify.accountability import audit
from fortify.accountability.operators import create_user, local_operator
from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.gallery import Gallery
from fortify.store.tables import ChangeLog, Identity, Sample, TemplateRow, new_id, utcnow
from fortify.types import Template

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "faces" / "celeba"
CHUNK = 20_000


def synthetic_vectors(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Unit vectors spread like real templates around their common mean (not real people)."""
    rng = np.random.default_rng(seed)
    mu, sd = real.mean(axis=0), real.std(axis=0)
    x = mu + sd * rng.standard_normal((n, real.shape[1])).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def bulk_load(g: Gallery, n: int, seed: int, console: Console) -> None:
    with g.db.session() as s:
        real = np.stack(
            [
                Template.from_bytes(d).vector
                for d in s.scalars(
                    TemplateRow.__table__.select().with_only_columns(TemplateRow.data)
                )
            ]
        )
    model = g.index.model_id
    with g.write() as s:
        src = g.source(s, "bench-synthetic")
        audit.append(
            s,
            actor=local_operator().name,
            action="bench.bulk_load",
            target="source:bench-synthetic",
            details={"templates": n},
        )
        src_id = src.id
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("bulk loading synthetic templates", total=n)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            vecs = synthetic_vectors(real, m, seed + start)
            now = utcnow()
            ids = [new_id() for _ in range(m)]
            with g.write() as s:
                s.execute(
                    insert(Identity),
                    [
                        {
                            "id": i,
                            "source_id": src_id,
                            "reference": f"SYN-{start + k:08d}",
                            "display_name": "Synthetic bench record",
                            "synthetic": True,
                            "attributes": {},
                            "created_at": now,
                            "updated_at": now,
                        }
                        for k, i in enumerate(ids)
                    ],
                )
                s.execute(
                    insert(Sample),
                    [
                        {
                            "id": i,
                            "identity_id": i,
                            "captured_at": now,
                            "image_path": None,
                            "image_sha256": "",
                            "quality": {},
                            "face_box": {},
                            "created_at": now,
                        }
                        for i in ids
                    ],
                )
                rows = (
                    s.execute(
                        insert(TemplateRow).returning(TemplateRow.id),
                        [
                            {
                                "sample_id": i,
                                "identity_id": i,
                                "model_id": model,
                                "model_version": "synthetic",
                                "data": Template(v, model, "synthetic").to_bytes(),
                                "created_at": now,
                            }
                            for i, v in zip(ids, vecs, strict=True)
                        ],
                    )
                    .scalars()
                    .all()
                )
                s.execute(
                    insert(ChangeLog),
                    [
                        {"template_id": t, "model_id": model, "op": "add", "created_at": now}
                        for t in rows
                    ],
                )
            bar.advance(task, m)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, q)) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--templates", type=int, default=1_000_000)
    ap.add_argument("--real", type=int, default=50)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=5000)
    ap.add_argument("--index-factory", default=os.environ.get("FORTIFY_INDEX_FACTORY", "Flat"))
    ap.add_argument("--home", type=Path, default=None, help="Reuse a gallery built before.")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "load.json")
    a = ap.parse_args()
    console = Console()
    home = a.home or Path(tempfile.mkdtemp(prefix="fortify-load-"))
    policy = unlimited_policy(home)
    env = {
        **os.environ,
        "FORTIFY_HOME": str(home),
        "FORTIFY_INDEX_FACTORY": a.index_factory,
        "FORTIFY_POLICY_FILE": str(policy),
    }
    settings = Settings(home=home, index_factory=a.index_factory, policy_file=policy)
    g = Gallery(settings)
    op = local_operator()
    folders = sorted(p for p in DATA.resolve().iterdir() if p.is_dir())[: a.real]
    probes: list[Path] = []
    extra: list[Path] = []
    if g.index.store_counts()[0] == 0:
        t0 = time.perf_counter()
        for d in folders:
            files = sorted(d.glob("*.jpg"))
            for f in files[:1]:
                with contextlib.suppress(FortifyError):  # no usable face: skipped
                    g.enroll_image(f, reference=d.name, operator=op, face="largest")
        bulk_load(g, a.templates, 7, console)
        console.print(f"gallery loaded in {time.perf_counter() - t0:.0f} s")
    for d in folders:
        files = sorted(d.glob("*.jpg"))
        probes += files[1:3]
        extra += files[3:4]
    t0 = time.perf_counter()
    report = g.open_index(None)
    build_s = time.perf_counter() - t0
    with g.write() as s:
        _, officer = create_user(s, f"load-officer-{os.getpid()}", "officer")
        _, sup = create_user(s, f"load-supervisor-{os.getpid()}", "supervisor")
    train_bench(g, f"load-officer-{os.getpid()}", f"load-supervisor-{os.getpid()}")
    n_templates = g.index.ntotal
    g.close()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fortify.cli.__main__",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(a.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t_start = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - t_start > 600:
                raise SystemExit("server did not start")
            time.sleep(0.5)
        first_ready = time.perf_counter() - t_start
        lat: list[float] = []
        errors: dict[str, int] = {}
        enrol_lat: list[float] = []
        lock = threading.Lock()
        stop_at = time.perf_counter() + a.duration
        counter = iter(range(a.max_requests))
        blobs = [p.read_bytes() for p in probes]

        def client(i: int) -> None:
            with httpx.Client(
                base_url=base, timeout=30, headers={"Authorization": f"Bearer {officer}"}
            ) as c:
                while time.perf_counter() < stop_at and next(counter, None) is not None:
                    img = blobs[(i * 7919 + len(lat)) % len(blobs)]
                    t = time.perf_counter()
                    r = c.post(
                        "/v1/searches",
                        files={"image": ("p.jpg", img, "image/jpeg")},
                        data={"purpose": "load test", "face": "largest"},
                    )
                    dt = time.perf_counter() - t
                    with lock:
                        if r.status_code == 200:
                            lat.append(dt)
                        else:
                            code = r.json().get("error", {}).get("code", str(r.status_code))
                            errors[code] = errors.get(code, 0) + 1

        def enroller() -> None:
            with httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {sup}"}
            ) as c:
                for k, p in enumerate(extra):
                    if time.perf_counter() >= stop_at:
                        break
                    t = time.perf_counter()
                    r = c.post(
                        "/v1/identities",
                        files={"image": ("e.jpg", p.read_bytes(), "image/jpeg")},
                        data={"reference": f"load-{k}", "face": "largest"},
                    )
                    if r.status_code == 201:
                        enrol_lat.append(time.perf_counter() - t)
                    time.sleep(1.0)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        threads.append(threading.Thread(target=enroller))
        t_load = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_load
    finally:
        server.terminate()
        server.wait(timeout=30)
    res: dict[str, Any] = {
        "templates": n_templates,
        "index_factory": a.index_factory,
        "index_open": report.to_dict(),
        "index_open_seconds": round(build_s, 1),
        "server_ready_seconds": round(first_ready, 1),
        "workers": a.workers,
        "clients": a.clients,
        "seconds": round(wall, 1),
        "searches": len(lat),
        "searches_per_second": round(len(lat) / wall, 2),
        "p50_ms": round(pct(lat, 50), 1),
        "p99_ms": round(pct(lat, 99), 1),
        "errors": errors,
        "enrolments_under_load": len(enrol_lat),
        "enrol_p50_ms": round(pct(enrol_lat, 50), 1) if enrol_lat else None,
        "mean_ms": round(statistics.mean(lat) * 1000, 1) if lat else None,
    }
    t = Table(title="Full HTTP search under load (loopback)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in res.items():
        if k != "index_open":
            t.add_row(k, str(v))
    console.print(t)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2))
    if a.home is None and os.environ.get("FORTIFY_KEEP_LOAD_HOME") != "1":
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
