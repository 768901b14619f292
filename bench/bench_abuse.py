"""Abuse on loopback: normal searches while decode bombs and oversized uploads arrive.

    nice -n 10 .venv/bin/python bench/bench_abuse.py --duration 60

Builds a small gallery (real CelebA photos), starts ``fortify serve`` (one process) on
127.0.0.1, measures normal searches alone for ``--baseline`` seconds, then for
``--duration`` seconds (bounded) runs at the same time

* 1 client doing normal searches (real probe photos), one after the other;
* ``--bombs`` (8) clients posting decode bombs without pause: the 51 KB 6300x6300
  PNG of issue 8, the largest PNG still accepted (FORTIFY_MAX_PROBE_PIXELS, no face,
  so the detector cascade runs in full) and a 36 Mpx JPEG (decoded at reduced size);
* ``--uploaders`` (4) clients each sending a 200 MB chunked upload (no Content-Length).

Reports the normal searches' p50/p99 and errors, what the attackers got back, and the
server's RSS (sampled and its peak, VmHWM); fails when p99 > 2 s or the peak RSS is
over ``--rss-ceiling-mb`` (the ceiling stated in the README).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image
from rich.console import Console
from rich.table import Table
from served import build_gallery, serve

from fortify.config import Settings


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def bombs() -> list[tuple[str, bytes, str]]:
    out = []
    buf = io.BytesIO()
    Image.new("RGB", (6300, 6300), (128, 128, 128)).save(buf, "PNG", optimize=True)
    out.append(("png-6300", buf.getvalue(), "image/png"))
    side = int(Settings().max_probe_pixels ** 0.5) - 1
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (90, 90, 90)).save(buf, "PNG", optimize=True)
    out.append((f"png-{side}", buf.getvalue(), "image/png"))
    buf = io.BytesIO()
    Image.new("RGB", (6000, 6000), (30, 30, 30)).save(buf, "JPEG", quality=50)
    out.append(("jpeg-6000", buf.getvalue(), "image/jpeg"))
    return out


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def chunked_upload(port: int, token: str, total: int) -> str:
    """Send up to ``total`` bytes chunked; the server's status (or what stopped us)."""
    head = (
        "POST /v1/searches HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    piece = b"z" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    first = b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n\r\n'
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head + f"{len(first):x}\r\n".encode() + first + b"\r\n")
        sent = 0
        try:
            while sent < total:
                s.sendall(chunk)
                sent += len(piece)
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading
        try:
            data = s.recv(4096)
        except OSError:
            return "reset"
    parts = data.split(b" ")
    return parts[1].decode() if len(parts) > 1 else "closed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--baseline", type=float, default=10.0)
    ap.add_argument("--bombs", type=int, default=8)
    ap.add_argument("--uploaders", type=int, default=4)
    ap.add_argument("--upload-mb", type=int, default=200)
    ap.add_argument("--real", type=int, default=10)
    ap.add_argument("--rss-ceiling-mb", type=float, default=3072.0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "abuse.json")
    a = ap.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="fortify-abuse-"))
    try:
        tokens, probes = build_gallery(home, a.real)
        blobs = [p.read_bytes() for p in probes]
        payloads = bombs()
        with serve(home) as (base, server):
            port = int(base.rsplit(":", 1)[1])
            stop = threading.Event()
            lock = threading.Lock()
            rss: list[float] = []

            def sampler() -> None:
                while not stop.is_set():
                    rss.append(rss_mb(server.pid))
                    time.sleep(0.2)

            def normal(until: float, lat: list[float], errors: Counter[str]) -> None:
                h = {"Authorization": f"Bearer {tokens['officer']}"}
                with httpx.Client(base_url=base, timeout=60, headers=h) as c:
                    i = 0
                    while time.monotonic() < until:
                        t = time.monotonic()
                        r = c.post(
                            "/v1/searches",
                            files={"image": ("p.jpg", blobs[i % len(blobs)], "image/jpeg")},
                            data={"purpose": "abuse bench, normal search", "face": "largest"},
                        )
                        dt = time.monotonic() - t
                        i += 1
                        if r.status_code == 200:
                            lat.append(dt)
                        else:
                            errors[r.json()["error"]["code"]] += 1

            answers: Counter[str] = Counter()

            def bomber(i: int) -> None:
                h = {"Authorization": f"Bearer {tokens['officer']}"}
                with httpx.Client(base_url=base, timeout=120, headers=h) as c:
                    k = i
                    while not stop.is_set():
                        name, data, ctype = payloads[k % len(payloads)]
                        k += 1
                        try:
                            r = c.post(
                                "/v1/searches",
                                files={"image": (name, data, ctype)},
                                data={"purpose": "abuse bench, decode bomb"},
                            )
                            code = r.json()["error"]["code"] if r.status_code != 200 else "200"
                        except httpx.HTTPError as exc:
                            code = type(exc).__name__
                        with lock:
                            answers[f"bomb {name}: {code}"] += 1

            def uploader() -> None:
                while not stop.is_set():
                    status = chunked_upload(port, tokens["officer"], a.upload_mb << 20)
                    with lock:
                        answers[f"chunked {a.upload_mb} MB: {status}"] += 1

            threading.Thread(target=sampler, daemon=True).start()
            base_lat: list[float] = []
            base_err: Counter[str] = Counter()
            console.print(f"baseline: normal searches alone for {a.baseline:.0f} s")
            normal(time.monotonic() + a.baseline, base_lat, base_err)
            rss_before = max(rss) if rss else 0.0
            console.print(
                f"attack: {a.bombs} bomb clients, {a.uploaders} chunked uploaders, "
                f"{a.duration:.0f} s"
            )
            attackers = [threading.Thread(target=bomber, args=(i,)) for i in range(a.bombs)]
            attackers += [threading.Thread(target=uploader) for _ in range(a.uploaders)]
            for t in attackers:
                t.start()
            lat: list[float] = []
            errors: Counter[str] = Counter()
            normal(time.monotonic() + a.duration, lat, errors)
            stop.set()
            for t in attackers:
                t.join(180)
            hwm = rss_mb(server.pid, "VmHWM")
        result = {
            "baseline": {
                "searches": len(base_lat),
                "p50_s": statistics.median(base_lat) if base_lat else None,
                "p99_s": pct(base_lat, 0.99),
                "errors": dict(base_err),
            },
            "under_attack": {
                "searches": len(lat),
                "p50_s": statistics.median(lat) if lat else None,
                "p99_s": pct(lat, 0.99),
                "max_s": max(lat) if lat else None,
                "errors": dict(errors),
            },
            "attackers": dict(sorted(answers.items())),
            "rss_mb": {
                "before_attack_max": round(rss_before, 1),
                "sampled_max": round(max(rss), 1),
                "peak_vmhwm": round(hwm, 1),
                "ceiling": a.rss_ceiling_mb,
            },
            "duration_s": a.duration,
        }
        t = Table(title="normal searches (1 client, sequential)")
        for col in ("phase", "searches", "p50 s", "p99 s", "errors"):
            t.add_column(col)
        for phase in ("baseline", "under_attack"):
            r = result[phase]
            t.add_row(
                phase,
                str(r["searches"]),
                f"{r['p50_s'] or float('nan'):.3f}",
                f"{r['p99_s']:.3f}",
                ", ".join(f"{k}={v}" for k, v in r["errors"].items()) or "0",
            )
        console.print(t)
        t = Table(title="what the attackers got")
        t.add_column("request: answer")
        t.add_column("count", justify="right")
        for k, v in result["attackers"].items():
            t.add_row(k, str(v))
        console.print(t)
        m = result["rss_mb"]
        console.print(
            f"server RSS: {m['before_attack_max']} MB before, {m['sampled_max']} MB sampled "
            f"max, peak (VmHWM) {m['peak_vmhwm']} MB; ceiling {m['ceiling']} MB"
        )
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=2))
        ok = result["under_attack"]["p99_s"] <= 2.0 and hwm <= a.rss_ceiling_mb and lat
        console.print("PASS" if ok else "FAIL")
        raise SystemExit(0 if ok else 1)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
