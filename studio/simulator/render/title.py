"""text_to_video's title card: a soft abstract backdrop in the seed's colours, and the prompt as a floating title.

The backdrop is two pictures, the second a variation of the first, which the render moves over and crossfades the
way image_to_video's camera moves over its images. The title is drawn once as a layer (its luma and its coverage)
that the render scales and shifts on its own, so the words drift over the moving colour.
"""

from __future__ import annotations

import colorsys
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from studio.simulator.render.frames import ArrayPlanes, Planes, load_font, to_u8, triple, wrap

MAX_LINES = 4
_WIDTH = 0.8  # of the frame, for the longest line
_FONT_STEPS = (10, 13, 16)  # font sizes to try, as fractions (1/n) of the short side: the largest that fits wins
_WHITE, _BLACK = 235, 16  # limited-range luma
_GRAIN = 3.0  # levels of 255, either way

Colour = tuple[float, float, float]


# --- the backdrop -----------------------------------------------------------------------------------------------


def backdrops(size: tuple[int, int], seed: int) -> tuple[Image.Image, Image.Image]:
    """Two soft abstract pictures at ``size`` in one palette chosen by ``seed``: where the backdrop starts and ends."""
    rng = random.Random(seed)
    palette = _palette(rng)
    return _backdrop(size, palette, rng), _backdrop(size, palette, rng)


def _palette(rng: random.Random) -> list[Colour]:
    """Four related colours, muted and mid-dark so that white words read over any of them."""
    hue, step = rng.random(), rng.uniform(0.05, 0.25) * rng.choice((-1, 1))
    return [
        colorsys.hsv_to_rgb((hue + step * index) % 1.0, rng.uniform(0.45, 0.8), rng.uniform(0.3, 0.6))
        for index in range(4)
    ]


def _backdrop(size: tuple[int, int], palette: list[Colour], rng: random.Random) -> Image.Image:
    """A gradient between two of ``palette``'s colours at an angle, with soft glows of the other two.

    Made at 1/16 of the size and enlarged, which smooths it for free (and costs nothing at 1080p), then dithered:
    x264 flattens a perfectly smooth gradient into visible blocks, a faint grain keeps it smooth (at no more bytes).
    """
    width, height = max(8, size[0] // 16), max(8, size[1] // 16)
    x = np.linspace(-1.0, 1.0, width)[None, :]
    y = np.linspace(-1.0, 1.0, height)[:, None] * (height / width)
    angle = rng.uniform(0.0, 2 * math.pi)
    ramp = np.clip(0.5 + 0.5 * (x * math.cos(angle) + y * math.sin(angle)), 0.0, 1.0)[..., None]
    picture = np.array(palette[0]) * (1 - ramp) + np.array(palette[1]) * ramp
    for colour in palette[2:]:
        centre, radius = (rng.uniform(-0.8, 0.8), rng.uniform(-0.5, 0.5)), rng.uniform(0.3, 0.7)
        glow = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / radius**2)[..., None] * rng.uniform(0.5, 0.9)
        picture = picture * (1 - glow) + np.array(colour) * glow
    smooth = np.asarray(Image.fromarray(to_u8(picture * 255)).resize(size, Image.Resampling.BICUBIC), np.float32)
    grain = np.random.default_rng(rng.getrandbits(64)).uniform(-_GRAIN, _GRAIN, (size[1], size[0], 1))
    return Image.fromarray(to_u8(smooth + grain.astype(np.float32)))


# --- the title --------------------------------------------------------------------------------------------------


def title_lines(prompt: str, size: tuple[int, int]) -> tuple[list[str], int]:
    """``prompt`` wrapped for a frame of ``size``, and the font size in px: the largest size (of a few) at which it
    fits :data:`MAX_LINES` lines, else the smallest with the last line cut short by an ellipsis."""
    text = " ".join(prompt.split())
    width = size[0] * _WIDTH
    for step in _FONT_STEPS:
        px = max(8, min(size) // step)
        lines = wrap(text, load_font(px), width, max_lines=len(text) + 1)
        if len(lines) <= MAX_LINES:
            return lines, px
    return wrap(text, load_font(px), width, max_lines=MAX_LINES), px


@dataclass(frozen=True)
class Title:
    """The title drawn once at the frame's size: each pixel's luma and coverage, and the box the words cover."""

    luma: Image.Image  # "L"
    alpha: Image.Image  # "L", 0 where the backdrop shows
    region: tuple[int, int, int, int]  # left, top, right, bottom of the non-zero coverage

    @classmethod
    def of(cls, prompt: str, size: tuple[int, int]) -> Title | None:
        """``prompt`` as white words over a soft shadow, centred; None when there are no words."""
        lines, px = title_lines(prompt, size)
        if not lines:
            return None
        words = Image.new("L", size, 0)
        draw, font, leading = ImageDraw.Draw(words), load_font(px), px * 1.25
        for row, line in enumerate(lines):
            centre = (size[0] / 2, size[1] / 2 + (row - (len(lines) - 1) / 2) * leading)
            draw.text(centre, line, fill=255, font=font, anchor="mm")
        shadow = words.filter(ImageFilter.GaussianBlur(px / 6))
        text = np.asarray(words, np.float32) / 255
        shade = np.minimum(np.asarray(shadow, np.float32) / 255 * 1.6, 1.0) * 0.55
        alpha = text + shade * (1 - text)  # the words over their shadow
        luma = (_WHITE * text + _BLACK * shade * (1 - text)) / np.maximum(alpha, 1e-6)
        coverage = Image.fromarray(to_u8(alpha * 255))
        region = coverage.getbbox()
        if region is None:
            return None
        return cls(Image.fromarray(to_u8(np.where(alpha > 0, luma, _BLACK))), coverage, region)

    def over(self, planes: Planes, box: tuple[float, float, float, float]) -> ArrayPlanes:
        """``planes`` with the title laid over, showing the ``box`` region of the title scaled to the frame."""
        y, cb, cr = (np.array(plane) for plane in planes)
        size = (y.shape[1], y.shape[0])
        window = _window(self.region, box, size)
        if window is None:
            return y, cb, cr
        (left, top, right, bottom), source = window
        luma, alpha = (
            np.asarray(image.resize((right - left, bottom - top), Image.Resampling.BILINEAR, box=source), np.uint16)
            for image in (self.luma, self.alpha)
        )
        half_alpha = self.alpha.resize(
            ((right - left) // 2, (bottom - top) // 2), Image.Resampling.BILINEAR, box=source
        )
        _blend(y[top:bottom, left:right], luma, alpha)
        for chroma in (cb, cr):  # the title is white and black: no colour, so chroma goes toward neutral
            _blend(chroma[top // 2 : bottom // 2, left // 2 : right // 2], 128, np.asarray(half_alpha, np.uint16))
        return triple((y, cb, cr))


def _window(
    region: tuple[int, int, int, int], box: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[tuple[int, int, int, int], tuple[float, float, float, float]] | None:
    """Where the title's ``region`` lands in the frame when ``box`` of it fills the frame (even edges, so chroma
    lines up), and the part of the title that fills that window; None when it falls outside the frame."""
    scales = ((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1])
    edges = []
    for low, high, origin, scale, side in zip(region[:2], region[2:], box[:2], scales, size):
        start = max(0, math.floor((low - origin) / scale) // 2 * 2)
        end = min(side, math.ceil((high - origin) / scale / 2) * 2)
        edges.append((start, end))
    (left, right), (top, bottom) = edges
    if right - left < 2 or bottom - top < 2:
        return None
    source = (
        box[0] + left * scales[0],
        box[1] + top * scales[1],
        box[0] + right * scales[0],
        box[1] + bottom * scales[1],
    )
    return (left, top, right, bottom), source


def _blend(region: np.ndarray, value: np.ndarray | int, alpha: np.ndarray) -> None:
    """``value`` laid over ``region`` (uint8, in place) with coverage ``alpha`` (0..255), in integer arithmetic."""
    region[...] = (region * (255 - alpha) + value * alpha + 127) // 255
