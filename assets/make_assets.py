"""Draw the studio's one-click example media into ``assets/examples/``.

Every picture and clip is drawn here from scratch with Pillow and numpy and encoded with PyAV (libx264):
no downloaded, third-party or copyrighted content, and no font files. The output is deterministic (fixed
seeds), so re-running regenerates the same files in place::

    python assets/make_assets.py

Drawing happens on a ``Canvas`` at ``SS`` times the output size ("supersampling") and is downsampled on
export, which gives smooth, anti-aliased edges. Coordinates are "design units": the output's pixels, unless
a canvas is given a ``scale`` (used to reuse one drawing at another size, e.g. the robot in its video).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT_DIR = Path(__file__).resolve().parent / "examples"
SEED = 1234  # every random choice below derives from this
SS = 2  # supersampling factor for drawing
FPS = 24
JPEG_QUALITY = 88
VIDEO_OPTIONS = {"crf": "26", "preset": "veryfast"}

COAST_SIZE = (1280, 720)
HORIZON_Y = 440
LIGHTHOUSE_X = 1040
BOATS_SIZE = (960, 960)
ROBOT_SIZE = (832, 1104)
WATERCOLOR_SIZE = (640, 480)
CITY_SIZE, CITY_SECONDS = (640, 360), 6.0
FACE_SIZE, FACE_SECONDS = (480, 480), 4.0
ROBOT_VIDEO_SIZE, ROBOT_SECONDS = (480, 640), 3.0

RGB = tuple[int, int, int]
Stops = list[tuple[float, RGB]]

DAWN = {
    "sky": [(0.0, (74, 102, 168)), (0.42, (150, 146, 196)), (0.78, (244, 176, 168)), (1.0, (255, 214, 168))],
    "sea": [(0.0, (176, 164, 190)), (0.25, (112, 122, 168)), (1.0, (40, 64, 112))],
    "sun": (255, 240, 206),
    "sun_glow": (255, 206, 150),
    "sun_xy": (470, 392),
    "sun_r": 44,
    "cloud": (255, 226, 222),
    "hills": [(162, 146, 186), (134, 124, 172)],
    "land": (58, 60, 98),
    "land_face": (78, 76, 116),
    "foam": (236, 226, 236),
    "tower": (244, 238, 234),
    "tower_shade": (206, 196, 206),
    "stripe": (214, 98, 104),
    "metal": (70, 66, 100),
    "glass": (252, 234, 196),
    "lamp_on": False,
    "stars": 0,
    "bird": (72, 70, 110),
    "window": (118, 110, 150),
}
DUSK = {
    "sky": [(0.0, (34, 26, 74)), (0.38, (98, 54, 128)), (0.74, (222, 104, 112)), (1.0, (255, 168, 92))],
    "sea": [(0.0, (206, 120, 120)), (0.22, (112, 62, 118)), (1.0, (26, 20, 58))],
    "sun": (255, 196, 120),
    "sun_glow": (255, 130, 90),
    "sun_xy": (470, 452),
    "sun_r": 58,
    "cloud": (246, 132, 146),
    "hills": [(132, 72, 126), (98, 56, 110)],
    "land": (30, 22, 52),
    "land_face": (44, 32, 68),
    "foam": (236, 170, 170),
    "tower": (84, 62, 104),
    "tower_shade": (62, 44, 84),
    "stripe": (58, 40, 78),
    "metal": (34, 26, 54),
    "glass": (255, 232, 150),
    "lamp_on": True,
    "stars": 70,
    "bird": (40, 28, 62),
    "window": (255, 204, 120),
}


# --------------------------------------------------------------------------------------------- drawing basics


class Canvas:
    """An RGB or RGBA image drawn at ``ss`` times its output size, in (scaled, offset) design units."""

    def __init__(self, size: tuple[int, int], *, mode: str = "RGB", scale: float = 1.0, ss: int = SS):
        self.size, self.mode, self.k = size, mode, ss
        self.scale, self.offset = scale, (0.0, 0.0)
        self.img = Image.new(mode, (size[0] * ss, size[1] * ss), (0, 0, 0, 0) if mode == "RGBA" else (0, 0, 0))

    def px(self, value: float) -> float:
        """A length in design units, in canvas pixels."""
        return value * self.scale * self.k

    def points(self, xy: Iterable[float]) -> list[tuple[float, float]]:
        """Flat design coordinates (x0, y0, x1, y1, ...) as canvas pixel points."""
        flat = list(xy)
        ox, oy = self.offset
        return [(self.px(x + ox), self.px(y + oy)) for x, y in zip(flat[0::2], flat[1::2])]

    def shape(self, kind: str, xy: Iterable[float], color: RGB, opacity: float = 1.0, blur: float = 0.0, **kw):
        """Draw an ImageDraw shape (``kind``: ellipse, polygon, line, arc, ...), optionally translucent or soft."""
        pts, kw = self.points(xy), self._scaled_kw(kw)
        if opacity >= 1.0 and blur <= 0:
            getattr(ImageDraw.Draw(self.img), kind)(pts, fill=self._ink(color), **kw)
            return
        box = self._bbox(pts, pad=self.px(blur) * 3 + kw.get("width", 0) + 2)
        if box is None:
            return
        mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
        local = [(x - box[0], y - box[1]) for x, y in pts]
        getattr(ImageDraw.Draw(mask), kind)(local, fill=round(255 * opacity), **kw)
        if blur > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(self.px(blur)))
        self._composite(color, mask, box)

    def glow(self, center: tuple[float, float], radius: float, color: RGB, opacity: float = 0.6):
        """A soft round light: a disc blurred to about ``radius``."""
        x, y = center
        r = radius * 0.55
        self.shape("ellipse", (x - r, y - r, x + r, y + r), color, opacity, blur=radius * 0.45)

    def paste_array(self, array: np.ndarray, at: tuple[float, float] = (0, 0)):
        """Paste an RGB array (canvas pixels) with its top-left corner at design point ``at``."""
        ((x, y),) = self.points(at)
        self.img.paste(Image.fromarray(array).convert(self.mode), (round(x), round(y)))

    def pixel_box(self, box: tuple[float, float, float, float]) -> tuple[int, int]:
        """The canvas-pixel width and height of a design-unit box."""
        (x0, y0), (x1, y1) = self.points(box)
        return max(1, round(x1 - x0)), max(1, round(y1 - y0))

    def image(self) -> Image.Image:
        """The drawing at its output size."""
        return self.img.resize(self.size, Image.Resampling.LANCZOS)

    def _ink(self, color: RGB) -> tuple[int, ...]:
        return tuple(color) + (255,) if self.mode == "RGBA" else tuple(color)

    def _scaled_kw(self, kw: dict) -> dict:
        for key in ("width", "radius"):
            if key in kw:
                kw[key] = max(1, round(self.px(kw[key])))
        return kw

    def _bbox(self, pts, pad: float) -> tuple[int, int, int, int] | None:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        w, h = self.img.size
        x0, y0 = max(0, math.floor(min(xs) - pad)), max(0, math.floor(min(ys) - pad))
        x1, y1 = min(w, math.ceil(max(xs) + pad)), min(h, math.ceil(max(ys) + pad))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def _composite(self, color: RGB, mask: Image.Image, box: tuple[int, int, int, int]):
        if self.mode == "RGB":
            self.img.paste(tuple(color), box, mask)
            return
        layer = Image.new("RGBA", mask.size, tuple(color) + (255,))
        layer.putalpha(mask)
        self.img.paste(Image.alpha_composite(self.img.crop(box), layer), box)


def rng_for(name: str) -> np.random.Generator:
    """A random generator seeded from ``SEED`` and a name, so each drawing is independent and repeatable."""
    return np.random.default_rng([SEED, sum(ord(ch) * (i + 1) for i, ch in enumerate(name))])


def gradient(height: int, width: int, stops: Stops) -> np.ndarray:
    """A vertical gradient through colour ``stops`` (position 0..1 from top), as a uint8 RGB array."""
    t = np.linspace(0.0, 1.0, height)
    pos = [p for p, _ in stops]
    column = np.stack([np.interp(t, pos, [c[i] for _, c in stops]) for i in range(3)], axis=-1)
    return np.repeat(column[:, None, :], width, axis=1).round().astype(np.uint8)


def fill_gradient(canvas: Canvas, box: tuple[float, float, float, float], stops: Stops):
    """Fill a design-unit box with a vertical gradient."""
    w, h = canvas.pixel_box(box)
    canvas.paste_array(gradient(h, w, stops), box[:2])


def radial_light(array: np.ndarray, center: tuple[float, float], radius: float, color: RGB, strength: float):
    """Blend ``color`` into an RGB array with a Gaussian falloff around ``center`` (array pixels)."""
    h, w = array.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    a = strength * np.exp(-(((xx - center[0]) ** 2 + (yy - center[1]) ** 2) / (radius**2)))
    out = array * (1 - a[..., None]) + np.array(color) * a[..., None]
    return out.round().astype(np.uint8)


def smooth_noise(shape: tuple[int, int], cells: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Low-frequency value noise in 0..1: a coarse random grid upsampled smoothly."""
    coarse = (rng.random((cells[1], cells[0])) * 255).astype(np.uint8)
    big = Image.fromarray(coarse).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 255.0


def add_grain(img: Image.Image, amount: float, name: str) -> Image.Image:
    """Add faint film grain, which hides gradient banding (in JPEG and H.264 especially)."""
    arr = np.asarray(img, dtype=np.float32)
    noise = rng_for(name).normal(0.0, amount, arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr + noise, 0, 255).round().astype(np.uint8))


def bump(t: float, start: float, length: float) -> float:
    """A smooth 0 -> 1 -> 0 pulse over [start, start + length] (sin squared), 0 elsewhere."""
    if not start <= t <= start + length:
        return 0.0
    return math.sin(math.pi * (t - start) / length) ** 2


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear interpolation between two colours."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


# ------------------------------------------------------------------------------------------ lighthouse coast


def coast(palette: dict) -> Image.Image:
    """The lighthouse coast scene in one palette (dawn or dusk); the composition never changes."""
    c = Canvas(COAST_SIZE)
    draw_sky(c, palette)
    draw_clouds(c, palette)
    draw_hills(c, palette)
    draw_sea(c, palette)
    draw_headland(c, palette)
    draw_lighthouse(c, palette)
    draw_cottage(c, palette)
    draw_birds(c, palette)
    return add_grain(c.image(), 2.0, "coast")


def draw_sky(c: Canvas, p: dict):
    """Gradient sky with a glowing sun (and stars at dusk)."""
    w, _ = c.pixel_box((0, 0, COAST_SIZE[0], HORIZON_Y))
    sky = gradient(round(c.px(HORIZON_Y)), w, p["sky"])
    sx, sy = p["sun_xy"]
    sky = radial_light(sky, (c.px(sx), c.px(sy)), c.px(260), p["sun_glow"], 0.55)
    c.paste_array(sky)
    draw_stars(c, p["stars"], COAST_SIZE[0], 190, "stars")
    r = p["sun_r"]
    c.glow((sx, sy), r * 2.4, p["sun_glow"], 0.5)
    c.shape("ellipse", (sx - r, sy - r, sx + r, sy + r), p["sun"])


def draw_stars(c: Canvas, count: int, width: float, height: float, name: str):
    """Small twinkling dots of random size and brightness in the top ``height`` units of the sky."""
    rng = rng_for(name)
    for _ in range(count):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.5, 1.4)
        c.shape("ellipse", (x - r, y - r, x + r, y + r), (255, 244, 246), opacity=rng.uniform(0.3, 0.9))


def draw_clouds(c: Canvas, p: dict):
    """Long, soft, flat-bottomed clouds."""
    rng = rng_for("clouds")
    for _ in range(7):
        x, y = rng.uniform(-100, 1300), rng.uniform(90, 360)
        length, thick = rng.uniform(180, 420), rng.uniform(10, 22)
        c.shape(
            "ellipse",
            (x - length / 2, y - thick, x + length / 2, y + thick),
            p["cloud"],
            opacity=rng.uniform(0.3, 0.55),
            blur=thick * 0.6,
        )
        c.shape(
            "ellipse",
            (x - length * 0.3, y - thick * 1.6, x + length * 0.1, y + thick * 0.4),
            p["cloud"],
            opacity=0.3,
            blur=thick * 0.7,
        )


def draw_hills(c: Canvas, p: dict):
    """Two hazy layers of distant hills on the horizon, left of the sun."""
    for layer, color in enumerate(p["hills"]):
        end = 400 - layer * 110
        pts = [0.0, HORIZON_Y + 1.0]
        for x in np.linspace(0, end, 48):
            fade = min(1.0, (end - x) / 120) ** 0.7
            pts += [x, HORIZON_Y - fade * (30 + 22 * math.sin(x / 60 + 2 * layer) + 10 * math.sin(x / 23))]
        c.shape("polygon", pts + [end, HORIZON_Y + 1.0], color)


def draw_sea(c: Canvas, p: dict):
    """The sea: a gradient with perspective bands, glints and the sun's reflection."""
    fill_gradient(c, (0, HORIZON_Y, COAST_SIZE[0], COAST_SIZE[1]), p["sea"])
    y, gap, n = HORIZON_Y + 3.0, 3.0, 0
    while y < COAST_SIZE[1]:
        shade = (255, 255, 255) if n % 2 else (0, 0, 30)
        c.shape("rectangle", (0, y, COAST_SIZE[0], y + gap * 0.35), shade, opacity=0.06, blur=0.6)
        y, gap, n = y + gap, gap * 1.16, n + 1
    draw_glints(c, p)
    draw_sun_path(c, p)


def draw_glints(c: Canvas, p: dict):
    """Short light dashes on the water, denser and longer nearer the viewer."""
    rng = rng_for("glints")
    for _ in range(160):
        depth = rng.random() ** 1.6
        y = HORIZON_Y + 6 + depth * (COAST_SIZE[1] - HORIZON_Y - 10)
        x, length = rng.uniform(0, COAST_SIZE[0]), 8 + depth * rng.uniform(20, 70)
        c.shape(
            "line",
            (x, y, x + length, y),
            mix(p["sun"], p["sea"][1][1], 0.35),
            opacity=0.25 + 0.25 * depth,
            width=1 + depth * 2.5,
        )


def draw_sun_path(c: Canvas, p: dict):
    """The sun's broken reflection: a column of horizontal strokes below it."""
    rng = rng_for("sunpath")
    sx, r = p["sun_xy"][0], p["sun_r"]
    y, step = HORIZON_Y + 3.0, 4.0
    while y < COAST_SIZE[1] - 40:
        depth = (y - HORIZON_Y) / (COAST_SIZE[1] - HORIZON_Y)
        half = r * (0.5 + 1.2 * depth) * rng.uniform(0.4, 1.1)
        x = sx + rng.normal(0, 6 + 16 * depth)
        c.shape(
            "line",
            (x - half, y, x + half, y),
            p["sun"],
            opacity=0.75 * (1 - depth) + 0.1,
            width=1.5 + 3 * depth,
            blur=0.6,
        )
        y, step = y + step, step * 1.07


def draw_headland(c: Canvas, p: dict):
    """A rocky headland on the right, with a lighter cliff face, strata and a foam line."""
    top = [780, 470, 800, 430, 850, 402, 920, 378, 990, 366, 1080, 360, 1160, 366, 1230, 380, 1280, 386]
    c.shape("polygon", top + [1280, 520, 770, 520], p["land"])
    c.shape("line", top[2:12], p["land_face"], width=3, joint="curve")
    face = [780, 470, 800, 430, 850, 402, 880, 410, 860, 450, 880, 500, 860, 516, 775, 512]
    c.shape("polygon", face, p["land_face"])
    for i in range(4):
        y = 424 + i * 22
        c.shape("line", (828 - i * 10, y, 900 + i * 30, y + 6), p["land"], opacity=0.5, width=2)
    c.shape("rounded_rectangle", (764, 512, 1300, 522), p["foam"], radius=5, opacity=0.45, blur=2.5)
    for x in range(790, 1290, 70):
        c.shape("line", (x, 518, x + 34, 518), p["foam"], opacity=0.7, width=2.5)
    draw_rocks(c, p)


def draw_rocks(c: Canvas, p: dict):
    """A few small rocks in the water in front of the cliff, each with a foam ring."""
    for x, y, w, h in [(730, 506, 34, 16), (700, 518, 18, 9), (1200, 560, 60, 24), (1150, 572, 26, 12)]:
        c.shape("ellipse", (x - w * 0.7, y + h * 0.2, x + w * 0.7, y + h * 0.8), p["foam"], opacity=0.4, blur=2)
        c.shape("chord", (x - w / 2, y - h / 2, x + w / 2, y + h / 2 + h), p["land"], start=180, end=360)


def draw_lighthouse(c: Canvas, p: dict):
    """A striped, tapered tower with a gallery, lantern room and domed cap; its lamp is lit at dusk."""
    x, base, top = LIGHTHOUSE_X, 364, 152
    c.shape("polygon", (x - 30, base, x + 30, base, x + 20, top, x - 20, top), p["tower"])
    c.shape("polygon", (x + 4, base, x + 30, base, x + 20, top, x + 3, top), p["tower_shade"])
    for y0 in (190, 262, 334):
        draw_stripe(c, p, y0, y0 + 30, x, base, top)
    if p["lamp_on"]:
        draw_beams(c, p, x, 122)
    c.shape("rectangle", (x - 32, top - 12, x + 32, top), p["metal"])
    c.shape("rectangle", (x - 16, 106, x + 16, top - 12), p["glass"])
    for bar in (x - 6, x + 6):
        c.shape("line", (bar, 106, bar, top - 12), p["metal"], width=2)
    c.shape("chord", (x - 22, 84, x + 22, 128), p["metal"], start=180, end=360)
    c.shape("ellipse", (x - 4, 76, x + 4, 84), p["metal"])
    draw_railing(c, p, x, top - 12)


def draw_stripe(c: Canvas, p: dict, y0: float, y1: float, x: float, base: float, top: float):
    """One band of the tower's livery between heights y0 and y1 (following the taper)."""

    def half(y):
        return 20 + 10 * (y - top) / (base - top)

    c.shape("polygon", (x - half(y0), y0, x + half(y0), y0, x + half(y1), y1, x - half(y1), y1), p["stripe"])
    c.shape("polygon", (x + 4, y0, x + half(y0), y0, x + half(y1), y1, x + 4, y1), (0, 0, 20), opacity=0.12)


def draw_railing(c: Canvas, p: dict, x: float, y: float):
    """The gallery's railing: a top rail and posts."""
    c.shape("line", (x - 32, y - 12, x + 32, y - 12), p["metal"], width=2)
    for post in range(-30, 31, 10):
        c.shape("line", (x + post, y - 12, x + post, y), p["metal"], width=1.5)


def draw_beams(c: Canvas, p: dict, x: float, y: float):
    """Two soft light beams and a halo from the lit lamp."""
    for reach in np.linspace(0.2, 1.0, 6):  # stacked, ever longer beams fade out with distance
        left, right = x - 760 * reach, x + 300 * reach
        c.shape(
            "polygon",
            (x, y - 4, left, y - 56 * reach, left, y + 40 * reach, x, y + 4),
            p["glass"],
            opacity=0.065,
            blur=8,
        )
        c.shape(
            "polygon",
            (x, y - 4, right, y - 30 * reach, right, y + 20 * reach, x, y + 4),
            p["glass"],
            opacity=0.06,
            blur=6,
        )
    c.glow((x, y), 130, p["glass"], 0.6)
    c.glow((x, y), 40, (255, 250, 220), 0.9)


def draw_cottage(c: Canvas, p: dict):
    """The keeper's cottage next to the tower."""
    x0, x1, y = 1090, 1170, 362
    c.shape("rectangle", (x0, y - 38, x1, y), p["tower_shade"])
    c.shape("polygon", (x0 - 8, y - 36, (x0 + x1) / 2, y - 66, x1 + 8, y - 36), p["stripe"])
    for wx in (x0 + 14, x1 - 28):
        c.shape("rectangle", (wx, y - 26, wx + 14, y - 12), p["window"])
    if p["lamp_on"]:
        c.glow((x0 + 40, y - 18), 60, p["window"], 0.35)


def draw_birds(c: Canvas, p: dict):
    """A small flock of gull silhouettes (two arcs each)."""
    for x, y, s in [(250, 170, 16), (290, 150, 12), (318, 186, 10), (600, 120, 9), (200, 214, 8)]:
        box_l = (x - s, y - s * 0.3, x, y + s * 0.7)
        box_r = (x, y - s * 0.3, x + s, y + s * 0.7)
        c.shape("arc", box_l, p["bird"], opacity=0.85, start=200, end=330, width=max(1.5, s / 6))
        c.shape("arc", box_r, p["bird"], opacity=0.85, start=210, end=340, width=max(1.5, s / 6))


# ----------------------------------------------------------------------------------------------- paper boats

POND_TOP = 230  # where the far bank meets the water
POND_WATER = [(0.0, (186, 230, 218)), (0.35, (120, 196, 198)), (1.0, (44, 132, 156))]
BOATS = [  # centre x, waterline y, width, paper colour, shaded fold colour
    (300, 430, 150, (255, 196, 170), (238, 150, 130)),
    (690, 500, 200, (255, 232, 160), (232, 196, 110)),
    (430, 720, 330, (255, 252, 246), (214, 222, 230)),
]


def paper_boats() -> Image.Image:
    """Three paper boats on a pond, flat-illustration style."""
    c = Canvas(BOATS_SIZE)
    draw_pond(c)
    draw_ripple_lines(c)
    draw_lily_pads(c)
    for boat in BOATS:
        draw_boat(c, *boat)
    draw_rings(c)
    return c.image()


def draw_pond(c: Canvas):
    """Warm sky, the far bank's trees, then the water's gradient with the trees mirrored in it."""
    fill_gradient(c, (0, 0, BOATS_SIZE[0], POND_TOP), [(0.0, (255, 226, 200)), (1.0, (255, 240, 218))])
    bushes = bank_bushes()
    for x, y, r, color in bushes:
        c.shape("ellipse", (x - r, y - r, x + r, y + r), color)
    fill_gradient(c, (0, POND_TOP, BOATS_SIZE[0], BOATS_SIZE[1]), POND_WATER)
    for x, y, r, color in bushes:
        ry, my = r * 0.55, POND_TOP + (POND_TOP - y) * 0.55
        c.shape("ellipse", (x - r, my - ry, x + r, my + ry), color, opacity=0.3, blur=8)
    c.shape("rectangle", (0, POND_TOP - 1, BOATS_SIZE[0], POND_TOP + 2), (226, 246, 232), opacity=0.6, blur=1)


def bank_bushes() -> list[tuple[float, float, float, RGB]]:
    """The far bank's trees (a hazy back row) and bushes (a front row), as (x, y, radius, colour)."""
    rows = [
        (20, (60, 110), 0.9, [(182, 214, 168), (166, 204, 158)]),
        (24, (34, 70), 0.35, [(128, 184, 124), (98, 160, 112), (150, 200, 130), (82, 142, 104)]),
    ]
    bushes = []
    for row, (count, (r_min, r_max), lift, greens) in enumerate(rows):
        rng = rng_for(f"bank{row}")
        for i in range(count):
            x, r = rng.uniform(-40, 1000), rng.uniform(r_min, r_max)
            bushes.append((x, POND_TOP - r * lift * rng.uniform(0.6, 1.1), r, greens[i % len(greens)]))
    return bushes


def draw_ripple_lines(c: Canvas):
    """Light horizontal strokes across the water, longer and thicker towards the viewer."""
    rng = rng_for("ripples")
    for _ in range(70):
        depth = rng.random()
        y = POND_TOP + 14 + depth * (BOATS_SIZE[1] - POND_TOP)
        x, length = rng.uniform(-50, 960), 30 + depth * rng.uniform(40, 160)
        c.shape("line", (x, y, x + length, y), (230, 250, 246), opacity=0.35, width=2 + depth * 3)


def draw_lily_pads(c: Canvas):
    """Lily pads (a notched ellipse in perspective), two with pink flowers."""
    pads = [(120, 620, 110, 1), (820, 760, 140, 1), (180, 880, 160, 0), (860, 360, 80, 0), (560, 330, 60, 0)]
    for i, (x, y, w, flower) in enumerate(pads):
        h = w * 0.42
        c.shape("ellipse", (x - w / 2, y - h / 2 + 8, x + w / 2, y + h / 2 + 8), (20, 90, 110), opacity=0.25, blur=4)
        c.shape(
            "pieslice",
            (x - w / 2, y - h / 2, x + w / 2, y + h / 2),
            (92, 168, 100),
            start=20 + 70 * i,
            end=350 + 70 * i,
        )
        c.shape(
            "pieslice",
            (x - w / 2 + 6, y - h / 2 + 3, x + w / 2 - 6, y + h / 2 - 3),
            (120, 190, 112),
            start=20 + 70 * i,
            end=350 + 70 * i,
            opacity=0.6,
        )
        if flower:
            draw_lotus(c, x - w * 0.12, y - h * 0.1, w * 0.24)


def draw_lotus(c: Canvas, x: float, y: float, s: float):
    """A small flower: a fan of pink petals around a golden centre."""
    for angle in (-60, -30, 0, 30, 60):
        a = math.radians(angle)
        tip = (x + math.sin(a) * s, y - math.cos(a) * s * 0.9)
        c.shape("polygon", (x - s * 0.18, y, tip[0], tip[1], x + s * 0.18, y), (246, 150, 176))
    c.shape("ellipse", (x - s * 0.5, y - s * 0.1, x + s * 0.5, y + s * 0.25), (236, 120, 152))
    c.shape("ellipse", (x - s * 0.14, y - s * 0.14, x + s * 0.14, y + s * 0.08), (255, 210, 100))


def boat_outline(x: float, y: float, w: float) -> dict[str, list[float]]:
    """The paper boat's polygons (hull, left and right sail halves, centre fold), waterline at y."""
    hull_h, sail_h, half = w * 0.2, w * 0.44, w / 2
    deck = y - hull_h
    return {
        "hull": [x - half, deck, x + half, deck, x + w * 0.34, y, x - w * 0.34, y],
        "sail_l": [x - w * 0.27, deck, x, deck - sail_h, x, deck],
        "sail_r": [x, deck - sail_h, x + w * 0.27, deck, x, deck],
        "fold": [x - w * 0.27, deck, x + w * 0.27, deck, x, y - hull_h * 0.1],
    }


def water_color(y: float) -> RGB:
    """The pond's colour at height y (the gradient drawn by ``draw_pond``)."""
    t = (y - POND_TOP) / (BOATS_SIZE[1] - POND_TOP)
    pos = [p for p, _ in POND_WATER]
    return tuple(round(float(np.interp(t, pos, [col[i] for _, col in POND_WATER]))) for i in range(3))


def draw_boat(c: Canvas, x: float, y: float, w: float, paper: RGB, shade: RGB):
    """A paper boat with its reflection, soft shadow and wake ripples."""
    parts = boat_outline(x, y, w)
    draw_reflection(c, parts, y, w, paper, shade)
    c.shape("ellipse", (x - w * 0.5, y - w * 0.03, x + w * 0.5, y + w * 0.06), (30, 90, 120), opacity=0.3, blur=5)
    c.shape("polygon", parts["sail_l"], paper)
    c.shape("polygon", parts["sail_r"], shade)
    c.shape("polygon", parts["hull"], paper)
    c.shape("polygon", parts["fold"], shade, opacity=0.7)
    c.shape("line", parts["hull"][:4], shade, width=max(1.5, w / 120))
    draw_wake(c, x, y, w)


def draw_reflection(c: Canvas, parts: dict, y: float, w: float, paper: RGB, shade: RGB):
    """The boat mirrored in the water, tinted and broken up by ripple lines."""
    water = water_color(y + w * 0.3)
    for name, color in (("sail_l", paper), ("sail_r", shade), ("hull", paper), ("fold", shade)):
        mirrored = [v if i % 2 == 0 else 2 * y - v for i, v in enumerate(parts[name])]
        c.shape("polygon", mirrored, mix(color, water, 0.45), opacity=0.55, blur=1.5)
    x0, x1 = parts["hull"][0], parts["hull"][2]
    for i in range(1, 7):
        ry = y + w * 0.1 * i
        c.shape("line", (x0 - 10, ry, x1 + 10, ry), water_color(ry), opacity=0.8, width=1.5 + i * 0.6)


def draw_wake(c: Canvas, x: float, y: float, w: float):
    """Two thin ripple arcs hugging the boat's waterline."""
    for i, grow in enumerate((0.42, 0.58)):
        box = (x - w * grow, y - w * 0.04 * (1 + i), x + w * grow, y + w * 0.07 * (1 + i))
        c.shape("arc", box, (236, 252, 250), opacity=0.7 - 0.25 * i, start=10, end=170, width=2 + w / 160)


def draw_rings(c: Canvas):
    """Concentric ripple rings where drops fell."""
    for x, y, s in [(760, 880, 70), (140, 420, 40), (600, 600, 46)]:
        for i in range(3):
            r = s * (0.5 + 0.4 * i)
            c.shape(
                "arc",
                (x - r, y - r * 0.35, x + r, y + r * 0.35),
                (236, 252, 250),
                opacity=0.5 - 0.13 * i,
                start=0,
                end=360,
                width=2,
            )


# ------------------------------------------------------------------------------------------------ the robot

ROBOT_TEAL, ROBOT_TEAL_LIGHT, ROBOT_TEAL_DARK = (104, 188, 194), (146, 214, 214), (66, 138, 156)
ROBOT_CORAL, ROBOT_CREAM, ROBOT_INK = (250, 132, 118), (253, 245, 232), (38, 44, 84)
REST_POSE = {"bob": 0.0, "wave": None, "blink": 0.0, "glow": 0.7}


def robot_picture(pose: dict | None = None, size: tuple[int, int] = ROBOT_SIZE) -> Image.Image:
    """The friendly robot (head and shoulders) on its soft background, at ``size``."""
    pose = pose or REST_POSE
    c = Canvas(size, scale=min(size[0] / ROBOT_SIZE[0], size[1] / ROBOT_SIZE[1]))
    draw_robot_background(c)
    c.offset = ((size[0] / c.scale - ROBOT_SIZE[0]) / 2, pose["bob"])
    draw_robot_body(c, pose)
    draw_robot_head(c, pose)
    c.offset = (0.0, 0.0)
    return c.image()


def draw_robot_background(c: Canvas):
    """A peach-to-lavender gradient with a halo and a few soft bokeh circles."""
    w, h = c.img.size
    bg = gradient(h, w, [(0.0, (255, 226, 210)), (0.55, (244, 212, 228)), (1.0, (204, 200, 244))])
    c.paste_array(radial_light(bg, (w / 2, h * 0.4), w * 0.45, (255, 248, 240), 0.6))
    for x, y, r, color, o in [
        (110, 190, 120, (255, 255, 255), 0.35),
        (730, 300, 80, (255, 190, 200), 0.35),
        (700, 980, 150, (190, 176, 240), 0.4),
        (90, 900, 70, (255, 214, 190), 0.4),
        (760, 120, 26, (255, 255, 255), 0.6),
        (60, 560, 18, (255, 255, 255), 0.5),
    ]:
        c.shape("ellipse", (x - r, y - r, x + r, y + r), color, opacity=o, blur=r * 0.15)


def draw_robot_body(c: Canvas, pose: dict):
    """Arms (the right one raised and waving if the pose says so), torso with a chest panel, and neck."""
    draw_arm(c, (212, 800), (150, 1070))
    if pose["wave"] is None:
        draw_arm(c, (620, 800), (682, 1070))
    else:
        a = math.radians(pose["wave"])
        draw_arm(c, (620, 800), (720 + 150 * math.sin(a), 810 - 150 * math.cos(a)))
    draw_torso(c)
    c.shape("rectangle", (372, 680, 460, 752), ROBOT_TEAL_DARK)
    for y in (700, 724):
        c.shape("rounded_rectangle", (362, y, 470, y + 12), (90, 160, 174), radius=6)


def draw_torso(c: Canvas):
    """The rounded torso with a soft highlight, and its chest panel: a heart over three buttons."""
    c.shape("rounded_rectangle", (196, 740, 636, 1200), ROBOT_TEAL_DARK, radius=120)
    c.shape("rounded_rectangle", (204, 744, 620, 1200), ROBOT_TEAL, radius=116)
    c.shape("rounded_rectangle", (226, 760, 560, 1200), ROBOT_TEAL_LIGHT, radius=100, opacity=0.45, blur=10)
    c.shape("rounded_rectangle", (316, 830, 516, 980), ROBOT_CREAM, radius=36)
    draw_heart(c, 416, 892, 34)
    for i, color in enumerate(((250, 200, 90), ROBOT_TEAL, ROBOT_CORAL)):
        cx = 376 + 40 * i
        c.shape("ellipse", (cx - 9, 942, cx + 9, 960), color)


def draw_arm(c: Canvas, shoulder: tuple[float, float], hand: tuple[float, float]):
    """A capsule arm from shoulder to hand, with a round cream hand."""
    c.shape("line", (*shoulder, *hand), ROBOT_TEAL_DARK, width=64)
    c.shape("ellipse", (shoulder[0] - 32, shoulder[1] - 32, shoulder[0] + 32, shoulder[1] + 32), ROBOT_TEAL_DARK)
    x, y = hand
    c.shape("ellipse", (x - 44, y - 44, x + 44, y + 44), ROBOT_CREAM)
    c.shape("ellipse", (x - 30, y - 36, x + 20, y + 6), (255, 255, 255), opacity=0.5, blur=6)


def draw_heart(c: Canvas, x: float, y: float, s: float):
    """A heart: two circles over a triangle."""
    r = s * 0.52
    c.shape("ellipse", (x - 2 * r + 2, y - r, x + 2, y + r), ROBOT_CORAL)
    c.shape("ellipse", (x - 2, y - r, x + 2 * r - 2, y + r), ROBOT_CORAL)
    c.shape("polygon", (x - 2 * r + 3, y + r * 0.3, x + 2 * r - 3, y + r * 0.3, x, y + s * 1.25), ROBOT_CORAL)


def draw_robot_head(c: Canvas, pose: dict):
    """Antenna, ears, the rounded head shell, and the face."""
    c.shape("line", (416, 260, 416, 160), ROBOT_TEAL_DARK, width=14)
    c.glow((416, 140), 110, (255, 170, 150), 0.25 + 0.5 * pose["glow"])
    c.shape("ellipse", (386, 110, 446, 170), ROBOT_CORAL)
    c.shape("ellipse", (398, 120, 418, 138), (255, 230, 220), opacity=0.8)
    for x0 in (118, 662):
        c.shape("rounded_rectangle", (x0, 410, x0 + 52, 560), ROBOT_CORAL, radius=24)
    c.shape("ellipse", (300, 740, 532, 800), (30, 60, 90), opacity=0.3, blur=9)
    c.shape("rounded_rectangle", (156, 250, 676, 710), ROBOT_TEAL_DARK, radius=170)
    c.shape("rounded_rectangle", (162, 252, 664, 694), ROBOT_TEAL, radius=164)
    c.shape("rounded_rectangle", (190, 266, 560, 520), ROBOT_TEAL_LIGHT, radius=140, opacity=0.5, blur=16)
    c.shape("rounded_rectangle", (216, 330, 616, 646), ROBOT_CREAM, radius=118)
    draw_robot_face(c, pose)


def draw_robot_face(c: Canvas, pose: dict):
    """Big eyes with highlights, brows, blushing cheeks and an open smile."""
    for x in (334, 498):
        draw_robot_eye(c, x, 468, pose["blink"])
        c.shape("arc", (x - 44, 384, x + 44, 424), ROBOT_INK, start=200, end=340, width=9)
        cheek_x = x - 66 if x < 416 else x + 66
        c.shape("ellipse", (cheek_x - 40, 530, cheek_x + 40, 570), (255, 140, 150), opacity=0.5, blur=7)
    c.shape("chord", (352, 500, 480, 600), (120, 44, 78), start=0, end=180)
    c.shape("chord", (384, 552, 448, 596), (250, 128, 140), start=0, end=180)


def draw_robot_eye(c: Canvas, x: float, y: float, blink: float):
    """One eye: a tall dark oval with two highlights, squashed as it blinks (a curved line when shut)."""
    if blink > 0.85:
        c.shape("arc", (x - 44, y - 30, x + 44, y + 20), ROBOT_INK, start=20, end=160, width=10)
        return
    rx, ry = 44, 54 * (1 - blink)
    c.shape("ellipse", (x - rx, y - ry, x + rx, y + ry), ROBOT_INK)
    hx, hy = x - 14, y - ry * 0.42
    c.shape("ellipse", (hx - 13, hy - 13 * (1 - blink), hx + 13, hy + 13 * (1 - blink)), (255, 255, 255))
    c.shape("ellipse", (x + 12, y + ry * 0.3, x + 22, y + ry * 0.3 + 10 * (1 - blink)), (255, 255, 255), opacity=0.8)


def robot_wave_frames() -> Iterator[np.ndarray]:
    """The robot bobbing, waving and blinking; the motion loops seamlessly over the clip."""
    for i in range(round(ROBOT_SECONDS * FPS)):
        t = i / FPS
        pose = {
            "bob": 10 * math.sin(2 * math.pi * t / 1.5),
            "wave": 22 * math.sin(2 * math.pi * t / 1.0),
            "blink": bump(t, 1.2, 0.2),
            "glow": 0.5 + 0.5 * math.sin(2 * math.pi * t / 1.5),
        }
        yield np.asarray(robot_picture(pose, ROBOT_VIDEO_SIZE))


# ---------------------------------------------------------------------------------------- watercolour swatch

TEALS_AND_GOLDS = [
    (28, 124, 134),
    (16, 86, 104),
    (104, 186, 176),
    (224, 172, 58),
    (196, 128, 36),
    (240, 206, 120),
    (60, 156, 150),
]


def watercolor() -> Image.Image:
    """An abstract teal-and-gold watercolour: pigment washes with wet edges over textured paper."""
    w, h = WATERCOLOR_SIZE
    rng = rng_for("watercolor")
    paper = paper_texture(h, w, rng)
    pigment = np.ones((h, w, 3), np.float32)
    for i in range(16):
        color = np.array(TEALS_AND_GOLDS[i % len(TEALS_AND_GOLDS)], np.float32) / 255
        density = wash_density(h, w, rng)
        pigment *= 1 - density[..., None] * (1 - color)
    for _ in range(24):
        pigment *= splatter(h, w, rng)
    return Image.fromarray(np.clip(paper * pigment * 255, 0, 255).round().astype(np.uint8))


def paper_texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Warm off-white paper with faint fibre noise, as floats 0..1."""
    tooth = smooth_noise((h, w), (160, 120), rng) * 0.5 + smooth_noise((h, w), (40, 30), rng) * 0.5
    base = np.array([249, 245, 236], np.float32) / 255
    return base * (0.95 + 0.05 * tooth[..., None])


def wash_density(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One irregular pigment wash, as 0..1: a mottled interior, granulation, and either a crisp, darker
    wet edge (a wash that dried in place) or a soft, feathered one (painted wet-in-wet)."""
    d = blob_distance(h, w, rng) * (0.9 + 0.2 * smooth_noise((h, w), (24, 18), rng))
    crisp = rng.random() < 0.6
    softness = 0.05 if crisp else rng.uniform(0.25, 0.45)
    inside = np.clip((1.0 - d) / softness + 0.5, 0, 1)
    edge = np.exp(-(((d - 0.98) / 0.03) ** 2)) * smooth_noise((h, w), (9, 7), rng) if crisp else 0.0
    mottle = smooth_noise((h, w), (7, 5), rng)
    grain = smooth_noise((h, w), (220, 165), rng)
    density = inside * (0.2 + 0.45 * mottle) * (0.8 + 0.4 * grain) + 0.45 * edge * inside
    return np.clip(density * rng.uniform(0.7, 1.1), 0, 0.95)


def blob_distance(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Normalised distance to an irregular, stretched, rotated blob's edge (1 on the edge)."""
    cx, cy = rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h
    radius, stretch, turn = rng.uniform(60, 200), rng.uniform(1.0, 3.2), rng.uniform(0, math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx - cx) * math.cos(turn) + (yy - cy) * math.sin(turn)
    v = (-(xx - cx) * math.sin(turn) + (yy - cy) * math.cos(turn)) * stretch
    theta = np.arctan2(v, u)
    wobble = sum(rng.uniform(0.05, 0.16) / k**0.8 * np.sin(k * theta + rng.uniform(0, 6.3)) for k in range(2, 9))
    return np.hypot(u, v) / (radius * (1 + wobble))


def splatter(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A small round drop of pigment (a multiplier over the image)."""
    color = np.array(TEALS_AND_GOLDS[rng.integers(len(TEALS_AND_GOLDS))], np.float32) / 255
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.5, 6)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot(xx - cx, yy - cy) / r
    a = np.clip(1.2 - d, 0, 1) * rng.uniform(0.35, 0.75)
    return 1 - a[..., None] * (1 - color)


# ------------------------------------------------------------------------------------------------ city drive

CITY_FRAMES = round(CITY_SECONDS * FPS)
GROUND_Y, ROAD_Y, FAR_LANE_Y, NEAR_LANE_Y = 272, 290, 312, 346
LAYER_SPEEDS = {"far": 1, "mid": 3, "near": 9}  # pixels per frame, scrolling left
CITY_SKY = [(0.0, (20, 22, 62)), (0.45, (70, 44, 112)), (0.78, (190, 86, 124)), (1.0, (252, 158, 112))]


def city_frames() -> Iterator[np.ndarray]:
    """A flat-style evening skyline scrolling by in parallax, with traffic on the road."""
    base = city_backdrop()
    layers = {name: city_layer(name) for name in LAYER_SPEEDS}
    cars = {
        "ours": car_sprite((250, 96, 96)),
        "van": car_sprite((255, 196, 80)),
        "teal": car_sprite((70, 190, 190)),
        "lilac": car_sprite((170, 140, 240)),
    }
    for f in range(CITY_FRAMES):
        frame = base.copy()
        for name, speed in LAYER_SPEEDS.items():
            over(frame, layers[name][:, f * speed : f * speed + CITY_SIZE[0]], (0, 0))
        for sprite, x, y in traffic(f, cars):
            over(frame, sprite, (x, y))
        yield frame.round().astype(np.uint8)


def over(frame: np.ndarray, rgba: np.ndarray, at: tuple[int, int]):
    """Alpha-composite an RGBA float array onto an RGB float frame in place, clipped to the frame."""
    x, y = at
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + rgba.shape[1], w), min(y + rgba.shape[0], h)
    if x1 <= x0 or y1 <= y0:
        return
    src = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    a = src[..., 3:] / 255.0
    frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - a) + src[..., :3] * a


def city_backdrop() -> np.ndarray:
    """The static parts: sky with moon and stars, the pavement and the road, as a float RGB array."""
    c = Canvas(CITY_SIZE)
    w, _ = c.pixel_box((0, 0, *CITY_SIZE))
    sky = gradient(round(c.px(GROUND_Y)), w, CITY_SKY)
    c.paste_array(radial_light(sky, (c.px(520), c.px(GROUND_Y)), c.px(220), (255, 190, 130), 0.35))
    draw_stars(c, 60, CITY_SIZE[0], 130, "city-stars")
    draw_moon(c, 110, 66, 16)
    fill_gradient(c, (0, GROUND_Y, 640, ROAD_Y), [(0.0, (92, 74, 118)), (1.0, (70, 56, 98))])
    fill_gradient(c, (0, ROAD_Y, 640, 360), [(0.0, (50, 42, 76)), (1.0, (28, 24, 46))])
    c.shape("rectangle", (0, ROAD_Y - 2, 640, ROAD_Y + 1), (130, 110, 150))
    return np.asarray(c.image(), np.float32)


def draw_moon(c: Canvas, x: float, y: float, r: float):
    """A full moon with a halo and a few soft grey "seas"."""
    c.glow((x, y), r * 4.4, (255, 236, 210), 0.35)
    c.shape("ellipse", (x - r, y - r, x + r, y + r), (255, 244, 226))
    for dx, dy, mr in [(-6, -6, 5), (6, 4, 4), (2, -8, 2.5)]:
        c.shape("ellipse", (x + dx - mr, y + dy - mr, x + dx + mr, y + dy + mr), (232, 214, 206), blur=1)


def city_layer(name: str) -> np.ndarray:
    """One wide, transparent parallax strip (far skyline, mid skyline or street furniture), as float RGBA."""
    width = CITY_SIZE[0] + LAYER_SPEEDS[name] * CITY_FRAMES + 8
    c = Canvas((width, CITY_SIZE[1]), mode="RGBA")
    {"far": draw_far_skyline, "mid": draw_mid_skyline, "near": draw_street}[name](c, width, rng_for(name))
    return np.asarray(c.image(), np.float32)


def draw_far_skyline(c: Canvas, width: int, rng: np.random.Generator):
    """Hazy distant towers, some with spires, with a few dim windows."""
    x = -20.0
    while x < width:
        w, h = rng.uniform(26, 60), rng.uniform(70, 170)
        c.shape("rectangle", (x, GROUND_Y - h, x + w, GROUND_Y), (112, 78, 138))
        if rng.random() < 0.25:
            c.shape("line", (x + w / 2, GROUND_Y - h, x + w / 2, GROUND_Y - h - 24), (112, 78, 138), width=2)
        for _ in range(int(h / 18)):
            wx, wy = x + rng.uniform(4, w - 6), GROUND_Y - rng.uniform(8, h - 6)
            c.shape("rectangle", (wx, wy, wx + 2.5, wy + 3), (255, 196, 160), opacity=0.45)
        x += w + rng.uniform(-6, 10)


def draw_mid_skyline(c: Canvas, width: int, rng: np.random.Generator):
    """Nearer buildings with grids of warm and cool lit windows and rooftop details."""
    x = -10.0
    while x < width:
        w, h = rng.uniform(50, 110), rng.uniform(50, 130)
        color = (46, 36, 82) if rng.random() < 0.6 else (58, 42, 92)
        c.shape("rectangle", (x, GROUND_Y - h, x + w, GROUND_Y), color)
        draw_windows(c, rng, x, w, h)
        draw_roof_detail(c, rng, x, w, h, color)
        x += w + rng.uniform(4, 22)


def draw_windows(c: Canvas, rng: np.random.Generator, x: float, w: float, h: float):
    """A building's grid of windows, some lit (warm or cool), most dark."""
    lit = [(255, 206, 120), (255, 226, 160), (170, 210, 255)]
    cols, rows = max(1, int((w - 10) / 13)), max(1, int((h - 16) / 15))
    x0 = x + (w - cols * 13 + 5) / 2
    for col in range(cols):
        for row in range(rows):
            wx, wy = x0 + col * 13, GROUND_Y - h + 10 + row * 15
            color = lit[rng.integers(3)] if rng.random() < 0.45 else (72, 58, 110)
            c.shape("rectangle", (wx, wy, wx + 8, wy + 9), color)


def draw_roof_detail(c: Canvas, rng: np.random.Generator, x: float, w: float, h: float, color: RGB):
    """A water tank, or an antenna with a red light, or nothing."""
    roll, top = rng.random(), GROUND_Y - h
    if roll < 0.3:
        c.shape("rectangle", (x + w * 0.6, top - 14, x + w * 0.6 + 16, top), color)
        c.shape("polygon", (x + w * 0.6 - 2, top - 14, x + w * 0.6 + 18, top - 14, x + w * 0.6 + 8, top - 22), color)
    elif roll < 0.55:
        c.shape("line", (x + w * 0.3, top, x + w * 0.3, top - 30), color, width=2)
        c.glow((x + w * 0.3, top - 31), 10, (255, 90, 90), 0.8)


def draw_street(c: Canvas, width: int, rng: np.random.Generator):
    """Street lamps with pools of light, low hedges, and the lane's dashes."""
    for x in np.arange(40, width, 230.0):
        c.shape("ellipse", (x - 70, ROAD_Y + 2, x + 90, ROAD_Y + 40), (255, 206, 140), opacity=0.12, blur=10)
        c.shape("line", (x, GROUND_Y + 12, x, 176), (30, 24, 46), width=5)
        c.shape("arc", (x, 168, x + 40, 200), (30, 24, 46), start=180, end=270, width=5)
        c.shape("rounded_rectangle", (x + 16, 166, x + 40, 174), (30, 24, 46), radius=3)
        c.glow((x + 28, 176), 46, (255, 214, 150), 0.6)
        c.shape("ellipse", (x + 20, 172, x + 36, 178), (255, 244, 210))
    for x in np.arange(150, width, 230.0):
        c.shape("ellipse", (x - 40, GROUND_Y - 12, x + 40, GROUND_Y + 10), (34, 46, 64))
    for x in np.arange(0, width, 80.0):
        c.shape("rounded_rectangle", (x, 327, x + 40, 331), (236, 226, 206), radius=2, opacity=0.85)


def car_sprite(body: RGB) -> np.ndarray:
    """A side-view car facing right, with a headlight beam, as a float RGBA array (160x44 px)."""
    c = Canvas((160, 44), mode="RGBA")
    c.shape("ellipse", (6, 32, 104, 42), (0, 0, 0), opacity=0.35, blur=2)
    c.shape("rounded_rectangle", (4, 18, 106, 34), body, radius=7)
    c.shape("polygon", (24, 19, 36, 6, 74, 6, 88, 19), body)
    c.shape("polygon", (30, 18, 39, 9, 54, 9, 54, 18), (150, 180, 220))
    c.shape("polygon", (58, 18, 58, 9, 72, 9, 82, 18), (150, 180, 220))
    c.shape("rectangle", (8, 24, 102, 26), (255, 255, 255), opacity=0.25)
    for wx in (26, 84):
        c.shape("ellipse", (wx - 9, 25, wx + 9, 43), (24, 20, 34))
        c.shape("ellipse", (wx - 4, 30, wx + 4, 38), (170, 170, 190))
    draw_car_lights(c)
    return np.asarray(c.image(), np.float32)


def draw_car_lights(c: Canvas):
    """Head- and tail-lights, and a headlight beam that fades with distance."""
    for reach in (0.4, 0.7, 1.0):
        c.shape(
            "polygon",
            (104, 22, 104 + 54 * reach, 22 - 9 * reach, 104 + 54 * reach, 24 + 14 * reach, 104, 25),
            (255, 236, 170),
            opacity=0.13,
            blur=2.5,
        )
    c.shape("rounded_rectangle", (100, 20, 107, 25), (255, 248, 210), radius=2)
    c.shape("rounded_rectangle", (3, 20, 8, 25), (255, 60, 70), radius=2)


def traffic(f: int, cars: dict[str, np.ndarray]) -> list[tuple[np.ndarray, int, int]]:
    """Where each car is in frame ``f``: oncoming cars rush past in the far lane, ours cruises alongside."""
    oncoming = [("teal", 0, 560), ("van", 46, 700), ("lilac", 96, 700)]
    placed = []
    for name, start, x0 in oncoming:
        if f >= start:
            placed.append((np.ascontiguousarray(cars[name][:, ::-1]), x0 - 14 * (f - start) - 60, FAR_LANE_Y - 34))
    bob = round(math.sin(f * 0.9)) if f % 7 == 0 else 0
    placed.append((cars["ours"], 150 + round(50 * math.sin(f / CITY_FRAMES * math.pi)), NEAR_LANE_Y - 36 + bob))
    return placed


# ---------------------------------------------------------------------------------------- nodding performance

SKIN, SKIN_SHADE, HAIR = (246, 204, 174), (228, 170, 142), (70, 50, 74)
SWEATER, FACE_INK = (236, 124, 112), (56, 38, 52)


def performance_pose(t: float) -> dict:
    """The performance at time t: two nods, a look left then right, two blinks, a few syllables, a nod."""
    talk = bump(t, 1.6, 1.0) ** 0.3 * abs(math.sin(2 * math.pi * 2.6 * (t - 1.6)))
    return {
        "pitch": bump(t, 0.2, 0.55) + bump(t, 0.8, 0.55) + 0.6 * bump(t, 3.1, 0.6),
        "yaw": -0.8 * bump(t, 1.45, 0.8) + 0.8 * bump(t, 2.25, 0.8),
        "blink": max(bump(t, 1.15, 0.2), bump(t, 2.95, 0.2)),
        "mouth": max(talk, 0.7 * bump(t, 3.2, 0.7)),
    }


def face_frame(pose: dict) -> np.ndarray:
    """One frame of the drawn face in ``pose`` (pitch, yaw, blink and mouth, each about 0..1 or -1..1)."""
    c = Canvas(FACE_SIZE)
    w, h = c.img.size
    bg = gradient(h, w, [(0.0, (214, 238, 230)), (1.0, (176, 208, 232))])
    c.paste_array(radial_light(bg, (w / 2, h * 0.42), w * 0.4, (255, 252, 240), 0.55))
    hx, hy = 240 + 8 * pose["yaw"], 214 + 8 * pose["pitch"]
    draw_shoulders(c, hx)
    draw_head(c, hx, hy, pose)
    draw_face_features(c, hx + 26 * pose["yaw"], hy + 16 * pose["pitch"], pose)
    return np.asarray(c.image())


def draw_shoulders(c: Canvas, hx: float):
    """Neck, sweater and collar, which follow the head only a little."""
    sx = 240 + (hx - 240) * 0.3
    c.shape("ellipse", (sx - 190, 372, sx + 190, 640), SWEATER)
    c.shape("rounded_rectangle", (hx - 30, 280, hx + 30, 396), SKIN_SHADE, radius=20)
    c.shape("chord", (sx - 54, 350, sx + 54, 414), (250, 240, 226), start=0, end=180)
    c.shape("chord", (sx - 40, 346, sx + 40, 398), SKIN_SHADE, start=0, end=180)


def draw_head(c: Canvas, x: float, y: float, pose: dict):
    """Hair behind, ears, the face oval and the fringe; ears slide opposite to the turn."""
    c.shape("ellipse", (x - 116, y - 130, x + 116, y + 96), HAIR)
    ear_dx = -10 * pose["yaw"]
    for side in (-1, 1):
        ex = x + side * 100 + ear_dx
        c.shape("ellipse", (ex - 16, y - 4, ex + 16, y + 44), SKIN_SHADE)
    c.shape("ellipse", (x - 100, y - 112, x + 100, y + 124), SKIN)
    c.shape("chord", (x - 110, y - 128, x + 110, y + 20), HAIR, start=180, end=360)
    fx, fy = x + 8 * pose["yaw"], y + 4 * pose["pitch"]
    for lx, ly, rx, ry in [(-58, -66, 40, 30), (-4, -70, 46, 34), (50, -64, 40, 28)]:
        c.shape("ellipse", (fx + lx - rx, fy + ly - ry, fx + lx + rx, fy + ly + ry), HAIR)


def draw_face_features(c: Canvas, x: float, y: float, pose: dict):
    """Eyes, brows, nose, cheeks and mouth, centred on (x, y), squeezed a little by the turn."""
    spread = 40 * (1 - 0.12 * abs(pose["yaw"]))
    lift = 6 * pose["mouth"]
    for side in (-1, 1):
        ex = x + side * spread
        draw_human_eye(c, ex, y + 4, pose)
        c.shape("arc", (ex - 20, y - 32 - lift, ex + 20, y - 12 - lift), HAIR, start=205, end=335, width=5)
        c.shape("ellipse", (ex - 22, y + 38, ex + 22, y + 56), (250, 150, 150), opacity=0.45, blur=5)
    c.shape("arc", (x - 10, y + 22, x + 10, y + 42), SKIN_SHADE, start=20, end=160, width=4)
    draw_mouth(c, x, y + 66, pose["mouth"])


def draw_human_eye(c: Canvas, x: float, y: float, pose: dict):
    """A white almond with an iris that looks the way the head turns; a lid line when shut."""
    open_ = 1 - pose["blink"]
    if open_ < 0.15:
        c.shape("arc", (x - 16, y - 10, x + 16, y + 6), FACE_INK, start=20, end=160, width=4)
        return
    c.shape("ellipse", (x - 16, y - 11 * open_, x + 16, y + 11 * open_), (255, 255, 255))
    ix = x + 5 * pose["yaw"]
    r, ry = 9, min(9, 11 * open_)
    c.shape("ellipse", (ix - r, y - ry, ix + r, y + ry), (74, 52, 60))
    c.shape("ellipse", (ix - 4, y - 4 * open_ - 3, ix + 1, y - 4 * open_ + 2), (255, 255, 255))
    c.shape("arc", (x - 17, y - 12 * open_, x + 17, y + 12 * open_), FACE_INK, start=190, end=350, width=3)


def draw_mouth(c: Canvas, x: float, y: float, openness: float):
    """A smile that opens into a rounded 'ah' with teeth and tongue."""
    if openness < 0.08:
        c.shape("arc", (x - 24, y - 14, x + 24, y + 6), (170, 70, 80), start=20, end=160, width=5)
        return
    h = 8 + 26 * openness
    top, bottom = y - h * 0.3, y + h * 0.7
    c.shape("ellipse", (x - 23, top, x + 23, bottom), (130, 44, 64))
    c.shape("chord", (x - 19, top + 1, x + 19, top + h * 0.5), (255, 255, 255), start=180, end=360)
    c.shape("chord", (x - 13, bottom - h * 0.5, x + 13, bottom - 1), (240, 120, 130), start=0, end=180)


def nodding_frames() -> Iterator[np.ndarray]:
    """The whole performance, one frame per 1/FPS s."""
    for i in range(round(FACE_SECONDS * FPS)):
        yield face_frame(performance_pose(i / FPS))


# --------------------------------------------------------------------------------------------- files & checks


def write_video(path: Path, frames: Iterable[np.ndarray], size: tuple[int, int]):
    """Encode RGB frames as H.264 yuv420p MP4 with faststart (the moov atom first)."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = dict(VIDEO_OPTIONS)
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))


def probe(path: Path) -> tuple[str, str]:
    """The file's dimensions and (for videos, decoded frame by frame) duration, for the summary table."""
    if path.suffix != ".mp4":
        with Image.open(path) as img:
            return f"{img.width}x{img.height}", "-"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        size = f"{stream.codec_context.width}x{stream.codec_context.height}"
        return size, f"{frames / float(stream.average_rate):.2f} s ({frames} fr)"


def check_faststart(path: Path):
    """Fail unless the MP4's moov atom precedes its mdat (so browsers can start playing at once)."""
    data = path.read_bytes()
    if not 0 <= data.find(b"moov") < data.find(b"mdat"):
        raise RuntimeError(f"{path.name}: moov is not before mdat (no faststart)")


def save_image(img: Image.Image, path: Path):
    """Save a JPEG (quality ``JPEG_QUALITY``) or an optimised PNG, by the file's suffix."""
    if path.suffix == ".jpg":
        img.convert("RGB").save(path, quality=JPEG_QUALITY, optimize=True, progressive=True, subsampling="4:2:0")
    else:
        img.convert("RGB").save(path, optimize=True)


IMAGES: dict[str, Callable[[], Image.Image]] = {
    "lighthouse_dawn.jpg": lambda: coast(DAWN),
    "lighthouse_dusk.jpg": lambda: coast(DUSK),
    "paper_boats.png": paper_boats,
    "robot_character.png": robot_picture,
    "watercolor_reference.jpg": watercolor,
}
VIDEOS: dict[str, tuple[Callable[[], Iterator[np.ndarray]], tuple[int, int]]] = {
    "city_drive.mp4": (city_frames, CITY_SIZE),
    "nodding_performance.mp4": (nodding_frames, FACE_SIZE),
    "robot_wave.mp4": (robot_wave_frames, ROBOT_VIDEO_SIZE),
}


def print_summary(names: Iterable[str]):
    """A table of every file: size in KB, dimensions and duration, plus the total."""
    print(f"{'file':<28}{'KB':>8}  {'dimensions':<11}  duration")
    total = 0
    for name in names:
        path = OUT_DIR / name
        size, duration = probe(path)
        total += path.stat().st_size
        print(f"{name:<28}{path.stat().st_size / 1024:>8.1f}  {size:<11}  {duration}")
    print(f"{'total':<28}{total / 1024:>8.1f}")


def main():
    """Draw and encode everything into ``OUT_DIR``, check the videos, and print a summary."""
    started = time.perf_counter()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, make in IMAGES.items():
        save_image(make(), OUT_DIR / name)
    for name, (frames, size) in VIDEOS.items():
        write_video(OUT_DIR / name, frames(), size)
        check_faststart(OUT_DIR / name)
    print_summary([*IMAGES, *VIDEOS])
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
