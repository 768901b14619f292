"""Sharded index vs one local index, same templates, same run: recall and latency.

    .venv/bin/python bench/bench_shards.py [--n 200000] [--factory 'PQ128x4fs,RFlat|rerank=1024']

Synthetic templates fitted to EdgeFace (512-d, ``fortify.eval.synthetic``, preset
``edgeface512``). Rows:

* ``local``: one FAISS index of the factory in this process (the single-machine layout);
* ``shards=S``: ``S`` shard servers (``fortify.index.shard_server``, real HTTP on
  loopback, each in its own process) holding ``id % S``; the coordinator
  (``ShardedIndex``) scatters every probe and merges the top k.

Recall@1 is over the mated probes against the exact best template (the gallery's own
ground truth). On one machine the shards share its cores, so the figure that carries over
to many machines is the overhead of the scatter/merge, not the speed-up.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import numpy as np

from fortify.eval.synthetic import ground_truth, model_spec, synthetic_templates
from fortify.index.factory import create_index


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(n: int, factory: str, dim: int, tmp: Path, env: dict[str, str]) -> list[Any]:
    procs = []
    for k in range(n):
        port = _free_port()
        cmd = [sys.executable, "-m", "fortify.cli", "shard", "serve", "--dir", str(tmp / f"s{k}")]
        cmd += ["--dim", str(dim), "--factory", factory, "--port", str(port)]
        procs.append((subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL), port))
    for _, port in procs:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/shard/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
    return procs


def _measure(index: Any, data: Any, truth: np.ndarray, k: int = 10) -> tuple[float, float, float]:
    mated = data.query_labels >= 0
    q = data.queries[mated][:300]
    want = truth[mated][:300, 0]
    times, got = [], []
    for row in q:
        t0 = time.perf_counter()
        _, i = index.search(row[None], k)
        times.append(time.perf_counter() - t0)
        got.append(i[0, 0])
    ms = np.array(times) * 1000
    return float((np.array(got) == want).mean()), float(np.median(ms)), float(np.percentile(ms, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--factory", default="PQ128x4fs,RFlat|rerank=1024")
    ap.add_argument("--shards", default="1,2")
    a = ap.parse_args()
    data = synthetic_templates(model_spec("edgeface512", n=a.n))
    truth = ground_truth(data)
    dim = data.gallery.shape[1]
    ids = np.arange(len(data.gallery), dtype=np.int64)
    rows = []
    t0 = time.perf_counter()
    local = create_index(dim, a.factory)
    local.train(np.asarray(data.gallery[:50_000]))
    local.add_with_ids(np.asarray(data.gallery), ids)
    build = time.perf_counter() - t0
    rows.append(("local", build, *_measure(local, data, truth)))
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "FORTIFY_SHARD_TOKEN": token, "OMP_NUM_THREADS": "1"}
    os.environ["FORTIFY_SHARD_TOKEN"] = token
    for s in (int(v) for v in a.shards.split(",")):
        with TemporaryDirectory() as tmp:
            procs = _start(s, a.factory, dim, Path(tmp), env)
            try:
                url = ",".join(f"127.0.0.1:{p}" for _, p in procs)
                t0 = time.perf_counter()
                idx = create_index(dim, f"shards://{url}?timeout=60")
                idx.train(np.asarray(data.gallery[:50_000]))
                for lo in range(0, len(ids), 50_000):
                    idx.add_with_ids(
                        np.asarray(data.gallery[lo : lo + 50_000]), ids[lo : lo + 50_000]
                    )
                build = time.perf_counter() - t0
                rows.append((f"shards={s}", build, *_measure(idx, data, truth)))
                idx.close()  # type: ignore[attr-defined]
            finally:
                for p, _ in procs:
                    p.send_signal(signal.SIGINT)
                for p, _ in procs:
                    p.wait(30)
    print(f"N={a.n}, dim={dim}, factory {a.factory!r}, 300 mated probes, k=10")
    print("| layout | build s | recall@1 | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for name, b, r, p50, p95 in rows:
        print(f"| {name} | {b:.1f} | {r:.3f} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
