"""Render the capture app's PNG icons from the shield in icon.svg (Pillow only).

    .venv/bin/python scripts/make_icons.py

Writes icon-192.png, icon-512.png and icon-maskable-512.png into
src/fortify/capture/static/. The drawing mirrors icon.svg (64x64 units).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "src" / "fortify" / "capture" / "static"
BLUE = (11, 79, 138, 255)
NAVY = (8, 58, 102, 255)
WHITE = (255, 255, 255, 255)


def _bezier(
    p0: tuple[float, float],
    p1: tuple[float, float],
    p2: tuple[float, float],
    p3: tuple[float, float],
    n: int = 24,
) -> list[tuple[float, float]]:
    out = []
    for i in range(1, n + 1):
        t = i / n
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        out.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return out


def shield() -> list[tuple[float, float]]:
    """M32 4 L56 12 V30 C56 45 46 55 32 60 C18 55 8 45 8 30 V12 Z"""
    pts = [(32.0, 4.0), (56.0, 12.0), (56.0, 30.0)]
    pts += _bezier((56, 30), (56, 45), (46, 55), (32, 60))
    pts += _bezier((32, 60), (18, 55), (8, 45), (8, 30))
    pts += [(8.0, 12.0)]
    return pts


def render(size: int, maskable: bool = False) -> Image.Image:
    ss = 4
    big = size * ss
    img = Image.new("RGBA", (big, big), NAVY if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    # maskable icons keep the drawing inside the central 80 % safe zone
    scale = big / 64 * (0.62 if maskable else 1.0)
    off = (big - 64 * scale) / 2

    def tr(p: tuple[float, float]) -> tuple[float, float]:
        return (off + p[0] * scale, off + p[1] * scale)

    outline = [tr(p) for p in shield()]
    d.polygon(outline, fill=BLUE)
    d.line([*outline, outline[0], outline[1]], fill=WHITE, width=round(3 * scale), joint="curve")
    check = [tr((21, 32)), tr((29, 40)), tr((44, 24))]
    d.line(check, fill=WHITE, width=round(5 * scale), joint="curve")
    r = 2.5 * scale
    for x, y in (check[0], check[-1]):
        d.ellipse((x - r, y - r, x + r, y + r), fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    render(192).save(STATIC / "icon-192.png", optimize=True)
    render(512).save(STATIC / "icon-512.png", optimize=True)
    render(512, maskable=True).save(STATIC / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
