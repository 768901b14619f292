"""Decoding is bounded in memory and time (decode bombs), and large images queue."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from fortify.config import Settings
from fortify.errors import ImageTooLarge, ServiceBusy
from fortify.imaging import LargeImageGate, decode_image, header_pixels


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 120, 120)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _jpeg(w: int, h: int, orientation: int = 1) -> bytes:
    img = Image.new("RGB", (w, h), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, w // 2, h))  # left half white
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, exif=exif)
    return buf.getvalue()


def _bounds() -> dict[str, int]:
    s = Settings()
    return {"max_decode_pixels": s.max_probe_pixels, "max_side": s.max_decode_side}


def test_png_bomb_under_the_header_limit_is_refused_before_decoding() -> None:
    bomb = _png(6300, 6300)  # the bomb: small file, 39.7 Mpx, under the 40 Mpx cap
    assert len(bomb) < 200_000
    t0 = time.process_time()
    with pytest.raises(ImageTooLarge, match="FORTIFY_MAX_PROBE_PIXELS"):
        decode_image(bomb, **_bounds())
    assert time.process_time() - t0 < 0.2


def test_bomb_decoding_costs_little_memory() -> None:
    code = (
        "import io,resource,sys\n"
        "from PIL import Image\n"
        "from fortify.imaging import decode_image\n"
        "from fortify.config import Settings\n"
        "b=io.BytesIO(); Image.new('RGB',(6300,6300),(9,9,9)).save(b,'PNG'); d=b.getvalue()\n"
        "s=Settings(); r=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try: decode_image(d, max_decode_pixels=s.max_probe_pixels, max_side=s.max_decode_side)\n"
        "except Exception: pass\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss-r)//1024)\n"
    )
    # building the bomb itself costs memory: measure only the decode (peak growth in MB)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) < 64, out.stdout


def test_large_jpeg_is_decoded_at_reduced_size_and_stays_upright() -> None:
    data = _jpeg(8000, 6000, orientation=6)  # 48 Mpx, rotated 90 degrees by EXIF
    with pytest.raises(ImageTooLarge):
        decode_image(data)  # over the 40 Mpx header cap without bounds
    t0 = time.process_time()
    rgb = decode_image(data, max_pixels=60_000_000, **_bounds())
    assert time.process_time() - t0 < 1.0
    assert max(rgb.shape[:2]) <= Settings().max_decode_side
    assert rgb.shape[0] > rgb.shape[1]  # portrait after the EXIF rotation
    full = decode_image(_jpeg(800, 600, orientation=6))
    small = np.asarray(Image.fromarray(rgb).resize((full.shape[1], full.shape[0])))
    assert np.abs(small.astype(int) - full.astype(int)).mean() < 10  # same picture


def test_small_images_decode_as_before() -> None:
    data = _jpeg(640, 480)
    assert np.array_equal(decode_image(data), decode_image(data, **_bounds()))


def test_large_image_gate_serialises_and_times_out() -> None:
    big, small = _png(3000, 3000), _png(100, 100)
    assert header_pixels(big) == 9_000_000 and header_pixels(b"junk") == 0
    gate = LargeImageGate(threshold_pixels=1_000_000, slots=1, wait_s=0.3)
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with gate.admit(big):
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    assert inside.wait(5)
    with gate.admit(small):  # small images never wait
        pass
    with pytest.raises(ServiceBusy), gate.admit(big):
        pass
    release.set()
    t.join()
    with gate.admit(big):
        pass
