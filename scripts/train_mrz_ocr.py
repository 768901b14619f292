"""Train Fortify's OCR-B MRZ character recogniser and export it to ONNX.

    nice -n 10 python scripts/train_mrz_ocr.py [--lines 4000] [--epochs 6] [--out PATH]

Data: MRZ-like lines rendered in OCR-B (Debian ``fonts-ocr-b``, /usr/share/fonts/opentype/ocr-b)
with photo-like degradations (scale, stroke weight, blur, noise, paper texture, glare, JPEG,
slight rotation), cut into cells by the same ``cell_patches`` the reader uses, with cell
misalignment. Training needs PyTorch (CPU) only here; inference runs the ONNX file with
onnxruntime. Seeded, so the file is reproducible up to PyTorch's CPU kernels.
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fortify.modalities.document.ocr import (
    CLASSES,
    MODEL_PATH,
    PATCH_H,
    PATCH_W,
    cell_patches,
    normalise_line,
)

log = logging.getLogger("train_mrz_ocr")
FONT_DIR = Path("/usr/share/fonts/opentype/ocr-b")
RENDER_SIZE = 64


def random_line(rng: random.Random) -> str:
    n = rng.choice([30, 36, 44])
    out = []
    while len(out) < n:
        r = rng.random()
        if r < 0.25:
            out.extend("<" * rng.randint(1, 8))
        elif r < 0.6:
            out.extend(rng.choice(CLASSES[10:36]) for _ in range(rng.randint(1, 9)))
        else:
            out.extend(rng.choice(CLASSES[:10]) for _ in range(rng.randint(1, 9)))
    return "".join(out[:n])


def render_line(
    text: str, font: ImageFont.FreeTypeFont, rng: random.Random, np_rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    adv = font.getlength("0")
    asc, desc = font.getmetrics()
    pad = int(adv * 3)
    w = int(adv * len(text)) + 2 * pad
    h = asc + desc + 2 * pad
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((pad, pad), text, font=font, fill=255)
    m = np.asarray(mask, np.float32) / 255.0
    cap = font.getbbox("H")
    top, bottom = pad + cap[1], pad + cap[3]
    centers = pad + (np.arange(len(text)) + 0.5) * adv
    # stroke weight
    k = rng.choice([0, 0, 0, 1, 2, -1, -2])
    if k > 0:
        m = cv2.dilate(m, np.ones((k + 1, k + 1), np.uint8))
    elif k < 0:
        m = cv2.erode(m, np.ones((-k + 1, -k + 1), np.uint8))
    # slight rotation / shear around the line centre
    ang = rng.uniform(-1.5, 1.5)
    shear = rng.uniform(-0.06, 0.06)
    a = cv2.getRotationMatrix2D((w / 2, (top + bottom) / 2), ang, 1.0)
    a[0, 1] += shear
    m = cv2.warpAffine(m, a, (w, h), flags=cv2.INTER_LINEAR)
    # downscale to the target character height
    cap_h = bottom - top
    target = rng.uniform(9, 40)
    s = target / cap_h
    sw, sh = max(int(w * s), 8), max(int(h * s), 8)
    m = cv2.resize(m, (sw, sh), interpolation=cv2.INTER_AREA)
    # paper, ink, texture, glare
    paper = rng.uniform(120, 255)
    ink = rng.uniform(0, min(paper - 50, 120))
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    bg = paper + rng.uniform(-30, 30) * (xx / sw - 0.5) + rng.uniform(-30, 30) * (yy / sh - 0.5)
    if rng.random() < 0.6:
        tex = np_rng.normal(0, 1, (sh, sw)).astype(np.float32)
        tex = cv2.GaussianBlur(tex, (0, 0), rng.uniform(0.8, 4))
        bg = bg + tex / (tex.std() + 1e-6) * rng.uniform(2, 25)
    if rng.random() < 0.3:  # guilloche-like waves
        f = rng.uniform(0.05, 0.4)
        bg = bg + rng.uniform(5, 25) * np.sin(f * xx + rng.uniform(0.5, 2) * np.sin(0.05 * yy))
    img = bg * (1 - m) + ink * m
    if rng.random() < 0.3:  # glare
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        r = rng.uniform(0.1, 0.6) * sw
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img = img + g * rng.uniform(40, 200) * (1 - (img / 300))
    sig = rng.choice([0, 0.4, 0.7, 1.0, 1.4]) * target / 20
    if sig > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), sig)
    if rng.random() < 0.15:  # motion blur
        L = rng.randint(2, 5)
        kern = np.zeros((L, L), np.float32)
        kern[L // 2, :] = 1.0 / L
        img = cv2.filter2D(
            img,
            -1,
            cv2.warpAffine(
                kern, cv2.getRotationMatrix2D((L / 2, L / 2), rng.uniform(0, 180), 1.0), (L, L)
            ),
        )
    img = img + np_rng.normal(0, rng.uniform(0, 12), img.shape)
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, "JPEG", quality=rng.randint(25, 95))
        u8 = np.asarray(Image.open(buf).convert("L"))
    if rng.random() < 0.3:  # resampled by a later rectification
        f = rng.uniform(0.6, 1.8)
        u8 = cv2.resize(u8, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
        s *= f
    return u8, centers * s, top * s, bottom * s, adv * s


def make_data(n_lines: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    fonts = [ImageFont.truetype(str(FONT_DIR / "OCRB.otf"), RENDER_SIZE)]
    for extra in ("OCRBL.otf", "OCRBS.otf"):
        if (FONT_DIR / extra).exists():
            fonts.append(ImageFont.truetype(str(FONT_DIR / extra), RENDER_SIZE))
    xs, ys = [], []
    for _ in range(n_lines):
        text = random_line(rng)
        font = fonts[0] if rng.random() < 0.7 else rng.choice(fonts)
        img, centers, top, bottom, pitch = render_line(text, font, rng, np_rng)
        line = normalise_line(img)
        jit = np_rng.normal(0, 0.08, len(text)) * pitch + rng.uniform(-0.1, 0.1) * pitch
        hj = (bottom - top) * rng.uniform(-0.1, 0.1)
        pj = pitch * rng.uniform(0.95, 1.05)
        xs.append(cell_patches(line, centers + jit, top + hj, bottom + hj * rng.uniform(-1, 1), pj))
        ys.extend(CLASSES.index(c) for c in text)
    return np.concatenate(xs), np.asarray(ys, np.int64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=9303)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    t0 = time.time()
    x, y = make_data(args.lines, args.seed)
    xv, yv = make_data(max(args.lines // 10, 100), args.seed + 1)
    log.info("data: %d train / %d val cells in %.0fs", len(x), len(xv), time.time() - t0)

    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(64 * (PATCH_H // 8) * (PATCH_W // 8), 128),
        nn.ReLU(),
        nn.Linear(128, len(CLASSES)),
    )
    xt = torch.from_numpy(x[:, None])
    yt = torch.from_numpy(y)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = args.epochs * (len(x) // 256 + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    lossf = nn.CrossEntropyLoss(label_smoothing=0.05)
    for ep in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x))
        tot = 0.0
        for i in range(0, len(x), 256):
            idx = perm[i : i + 256]
            opt.zero_grad()
            loss = lossf(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        net.eval()
        with torch.no_grad():
            pred = net(torch.from_numpy(xv[:, None])).argmax(1).numpy()
        log.info(
            "epoch %d loss %.4f val err %.4f (%.0fs)",
            ep + 1,
            tot / len(x),
            float((pred != yv).mean()),
            time.time() - t0,
        )
    net.eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        (torch.zeros(1, 1, PATCH_H, PATCH_W),),
        str(args.out),
        input_names=["patch"],
        output_names=["logits"],
        dynamic_axes={"patch": {0: "n"}, "logits": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    log.info("wrote %s (%d bytes)", args.out, args.out.stat().st_size)


if __name__ == "__main__":
    main()
