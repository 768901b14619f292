"""A Y4M (YUV4MPEG2, 4:2:0) file for Chromium's fake camera, made from a photo.

Chromium plays ``--use-file-for-fake-video-capture=FILE.y4m`` in a loop as the
camera. No ffmpeg needed: the format is a text header, then per frame ``FRAME\\n``
and the Y, U and V planes (U and V at half resolution).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = npt.NDArray[np.uint8]


def frame_from_photo(photo: Path, width: int = 640, height: int = 480) -> RGB:
    """The photo scaled to fit ``width`` x ``height`` and centred on a grey background."""
    im = Image.open(photo).convert("RGB")
    scale = min(width / im.width, height / im.height)
    size = (round(im.width * scale), round(im.height * scale))
    im = im.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height), (96, 100, 104))
    canvas.paste(im, ((width - size[0]) // 2, (height - size[1]) // 2))
    return np.asarray(canvas, dtype=np.uint8)


def rgb_to_yuv420(rgb: RGB) -> tuple[RGB, RGB, RGB]:
    """BT.601 full-range ("JPEG") Y, U, V planes; chroma averaged over 2x2 blocks."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0

    def half(p: npt.NDArray[Any]) -> npt.NDArray[Any]:
        h, w = p.shape
        out: npt.NDArray[Any] = p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return out

    def u8(p: npt.NDArray[Any]) -> RGB:
        out: RGB = np.clip(np.rint(p), 0, 255).astype(np.uint8)
        return out

    return u8(y), u8(half(u)), u8(half(v))


def yuv420_to_rgb(y: RGB, u: RGB, v: RGB) -> RGB:
    """Back to RGB (what the browser will show), to check the frame before a test uses it."""
    uu = np.repeat(np.repeat(u.astype(np.float32) - 128.0, 2, axis=0), 2, axis=1)
    vv = np.repeat(np.repeat(v.astype(np.float32) - 128.0, 2, axis=0), 2, axis=1)
    yy = y.astype(np.float32)
    rgb = np.stack([yy + 1.402 * vv, yy - 0.344136 * uu - 0.714136 * vv, yy + 1.772 * uu], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def write_y4m(frame: RGB, out: Path, frames: int = 2, fps: int = 15) -> RGB:
    """Write ``frames`` copies of ``frame``; returns the frame as the browser will see it."""
    h, w = frame.shape[:2]
    if w % 2 or h % 2:
        raise ValueError("Y4M 4:2:0 needs even width and height")
    y, u, v = rgb_to_yuv420(frame)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            fh.write(b"FRAME\n")
            fh.write(y.tobytes())
            fh.write(u.tobytes())
            fh.write(v.tobytes())
    return yuv420_to_rgb(y, u, v)


def frame_from_print(image: Path, width: int = 640, height: int = 480) -> RGB:
    """A contact print at its own scale (~500 ppi kept) centred on white paper."""
    im = Image.open(image).convert("RGB")
    if im.width > width or im.height > height:
        raise ValueError(f"print {im.size} larger than the {width}x{height} frame")
    canvas = Image.new("RGB", (width, height), (250, 250, 250))
    canvas.paste(im, ((width - im.width) // 2, (height - im.height) // 2))
    return np.asarray(canvas, dtype=np.uint8)


FOUR_TOPS = (0.1, 0.04, 0.08, 0.2)
"""Top of each print as a share of the frame height: a hand's index, middle, ring,
little (the guide's outlines, finger-four.js)."""


def frame_from_prints(images: list[Path], height: int = 560, gap: int = 16) -> RGB:
    """Contact prints at their own scale side by side on white paper, staggered like
    the fingertips of a right hand (a four-finger slap), left to right."""
    ims = [np.asarray(Image.open(p).convert("L"), dtype=np.uint8) for p in images]
    width = 4 * max(i.shape[1] for i in ims) + 5 * gap
    width += width % 2
    canvas = np.full((height, width), 250, np.uint8)
    col = (width - gap) / 4
    for k, (im, top) in enumerate(zip(ims, FOUR_TOPS, strict=False)):
        y = min(round(top * height), height - im.shape[0])
        x = round(gap / 2 + (k + 0.5) * col - im.shape[1] / 2)
        canvas[y : y + im.shape[0], x : x + im.shape[1]] = im
    return np.repeat(canvas[:, :, None], 3, axis=2)
