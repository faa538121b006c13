"""Frames as planes: sizes, colour conversion, fitting and letterboxing, and the overlays (the mark and captions).

Frames are built directly as BT.709 limited-range yuv420p planes (tagged as such in the stream), not as RGB:
that spares a full-frame RGB to YUV conversion per frame and was about 25 % faster overall. Overlays are
pre-rendered once per size into the same plane form and blended in place.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from av.video.frame import VideoFrame
from PIL import Image, ImageDraw, ImageFont, ImageOps

# One frame is three uint8 planes, Y at full size and Cb and Cr at half width and height: Pillow "L" images where
# Pillow scales them (the camera move, the character's pose), numpy arrays elsewhere (decoded video, the regrade).
ImagePlanes = tuple[Image.Image, Image.Image, Image.Image]
ArrayPlanes = tuple[np.ndarray, np.ndarray, np.ndarray]
Planes = ImagePlanes | ArrayPlanes
T = TypeVar("T")

MAX_LONG_SIDE, MAX_SHORT_SIDE = 1920, 1080  # 1080p, in either orientation

# BT.709 R'G'B' -> limited-range Y'CbCr, rows already scaled for 8 bits (Y 16..235, Cb/Cr 16..240).
_RGB_TO_YUV = (
    np.array([[0.2126, 0.7152, 0.0722], [-0.114572, -0.385428, 0.5], [0.5, -0.454153, -0.045847]])
    * np.array([[219.0], [224.0], [224.0]])
    / 255.0
).astype(np.float32)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)


def triple(items: Iterable[T]) -> tuple[T, T, T]:
    """Exactly three items (Y, Cb, Cr) as a typed triple; a plane computed per channel in one expression."""
    first, second, third = items
    return first, second, third


# --- sizes ------------------------------------------------------------------------------------------------------


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` rounded down to even numbers: yuv420p halves both for chroma."""
    width, height = (int(side) // 2 * 2 for side in size)
    if width < 2 or height < 2:
        raise ValueError(f"Output size {size[0]}x{size[1]} is too small to encode.")
    return width, height


def capped_size(size: tuple[float, float]) -> tuple[int, int]:
    """``size`` scaled down (never up) so its long side is at most 1920 and its short side at most 1080, even."""
    scale = min(1.0, MAX_LONG_SIDE / max(size), MAX_SHORT_SIDE / min(size))
    width, height = (round(side * scale) for side in size)
    return even_size((width, height))


def expanded(size: tuple[float, float], aspect: tuple[int, int]) -> tuple[float, float]:
    """The smallest box of ``aspect`` (width, height) that holds ``size``: ``size`` with bars added on two sides."""
    ratio = aspect[0] / aspect[1]
    return max(size[0], size[1] * ratio), max(size[1], size[0] / ratio)


def _cover_size(source: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The even size that ``source`` scales to when it just covers ``size``, keeping its aspect ratio."""
    scale = max(size[0] / source[0], size[1] / source[1])
    width, height = (max(want, 2 * math.ceil(have * scale / 2 - 1e-6)) for have, want in zip(source, size))
    return width, height


# --- colour -------------------------------------------------------------------------------------------------


def rgb(image: Image.Image) -> Image.Image:
    """``image`` upright and in RGB; transparency is laid over black, as a video has no alpha."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        backdrop = Image.new("RGBA", image.size, (0, 0, 0, 255))
        return Image.alpha_composite(backdrop, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def rgb_to_planes(pixels: np.ndarray) -> ArrayPlanes:
    """BT.709 limited-range yuv420p planes of an even-sized RGB array; chroma is the mean of each 2x2 block."""
    height, width = pixels.shape[:2]
    yuv = pixels.astype(np.float32) @ _RGB_TO_YUV.T + _YUV_OFFSET
    chroma = yuv[..., 1:].reshape(height // 2, 2, width // 2, 2, 2).mean(axis=(1, 3))
    return to_u8(yuv[..., 0]), to_u8(chroma[..., 0]), to_u8(chroma[..., 1])


def to_u8(values: np.ndarray) -> np.ndarray:
    """``values`` rounded and clipped to 0..255, as uint8."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


# --- fitting ----------------------------------------------------------------------------------------------------


def still_planes(image: Image.Image, size: tuple[int, int]) -> ImagePlanes:
    """``image`` fitted to cover ``size`` (centre crop), as Pillow "L" planes ready for scaling."""
    fitted = ImageOps.fit(rgb(image), size, Image.Resampling.LANCZOS)
    return triple(Image.fromarray(plane) for plane in rgb_to_planes(np.asarray(fitted)))


def fitted(
    frames: Iterable[VideoFrame], size: tuple[int, int], content: tuple[int, int] | None = None
) -> Iterator[ArrayPlanes]:
    """Each frame fitted to cover ``size`` (centre crop); or, given a smaller ``content`` size (even numbers), fitted
    to cover that, centred, with the rest of ``size`` showing a blurred, darkened copy of the frame (a letterbox or
    pillarbox). A frame shown twice in a row (slower input) is fitted once."""
    content = size if content is None else content
    previous: VideoFrame | None = None
    planes: ArrayPlanes | None = None
    for frame in frames:
        if planes is None or frame is not previous:
            previous = frame
            planes = _fit_frame(frame, size) if content == size else _boxed_frame(frame, size, content)
        yield planes


def _boxed_frame(frame: VideoFrame, size: tuple[int, int], content: tuple[int, int]) -> ArrayPlanes:
    """``frame`` covering ``content`` in the middle of ``size``, over a blurred, darkened copy covering ``size``."""
    # The bars show the frame itself, blurred and darkened, rather than black: aleph2 outpaints the bars with more
    # of the scene, and a copy keeps the scene's colours and motion across the whole picture, so the regrade's
    # colour statistics (taken over the whole frame) are not dragged toward black by bars that may be half of it.
    # Blurring is a swscale reduction to about 32 px and a bicubic enlargement (also swscale: about 2 ms at 1080p,
    # a third of what Pillow takes).
    scale = 32 / max(size)
    tiny = _fit_frame(frame, even_size((max(2, round(size[0] * scale)), max(2, round(size[1] * scale)))))
    blurred = VideoFrame(tiny[0].shape[1], tiny[0].shape[0], "yuv420p")
    for view, plane, shade in zip(plane_arrays(blurred), tiny, (_SHADE[0], _SHADE[1], _SHADE[1])):
        view[...] = shade[plane]
    backdrop = plane_arrays(blurred.reformat(width=size[0], height=size[1], interpolation="BICUBIC"))
    left, top = ((outer - inner) // 4 * 2 for outer, inner in zip(size, content))  # even, so chroma lines up
    for index, (plane, picture) in enumerate(zip(backdrop, _fit_frame(frame, content))):
        x, y = (left, top) if index == 0 else (left // 2, top // 2)
        plane[y : y + picture.shape[0], x : x + picture.shape[1]] = picture
    return triple(backdrop)


def _fit_frame(frame: VideoFrame, size: tuple[int, int]) -> ArrayPlanes:
    """``frame`` scaled by swscale straight to yuv420p covering ``size``, then centre-cropped to it."""
    cover = _cover_size((frame.width, frame.height), size)
    scaled = frame.reformat(width=cover[0], height=cover[1], format="yuv420p")
    left, top = ((have - want) // 4 * 2 for have, want in zip(cover, size))  # even, so chroma lines up
    width, height = size
    luma, cb, cr = plane_arrays(scaled)
    rows, columns = slice(top // 2, (top + height) // 2), slice(left // 2, (left + width) // 2)
    return luma[top : top + height, left : left + width], cb[rows, columns], cr[rows, columns]


# Lookup tables that darken a backdrop: luma to 45 % above black, chroma to 60 % of its colourfulness.
_SHADE = (
    to_u8(16 + (np.arange(256, dtype=np.float32) - 16) * 0.45),
    to_u8(128 + (np.arange(256, dtype=np.float32) - 128) * 0.6),
)


def plane_arrays(frame: VideoFrame) -> list[np.ndarray]:
    """Writable numpy views of a frame's planes, without the row padding."""
    return [np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes]


# --- overlays ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlay:
    """A pre-rendered RGBA patch in yuv420p form, blended in place with integer arithmetic.

    ``weighted`` holds each plane's value times alpha and ``keep`` holds 255 - alpha, both uint16: one multiply,
    one add and one divide per pixel, and never above 255 * 255 + 127.
    """

    left: int
    top: int
    weighted: ArrayPlanes
    keep: ArrayPlanes

    @classmethod
    def from_rgba(cls, patch: Image.Image, left: int, top: int, size: tuple[int, int]) -> Overlay:
        """``patch`` placed at (``left``, ``top``) (even numbers), cropped to the frame and to even sides."""
        width = (min(patch.width, size[0] - left)) // 2 * 2
        height = (min(patch.height, size[1] - top)) // 2 * 2
        rgba = np.asarray(patch.crop((0, 0, width, height)).convert("RGBA"))
        alpha = rgba[..., 3].astype(np.uint16)
        alphas = (alpha, to_u8(alpha.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))).astype(np.uint16))
        planes = rgb_to_planes(rgba[..., :3])
        weighted = triple(p.astype(np.uint16) * alphas[min(i, 1)] for i, p in enumerate(planes))
        return cls(left, top, weighted, triple(255 - alphas[min(i, 1)] for i in range(3)))

    def apply(self, views: list[np.ndarray]) -> None:
        """Blend the patch into a frame's plane views, in place."""
        for index, (view, weighted, keep) in enumerate(zip(views, self.weighted, self.keep)):
            step = 1 if index == 0 else 2
            top, left = self.top // step, self.left // step
            region = view[top : top + keep.shape[0], left : left + keep.shape[1]]
            region[...] = (region * keep + weighted + 127) // 255


def overlays(size: tuple[int, int], caption: str) -> list[Overlay]:
    """What every frame of a clip carries: the SIMULATED mark, and ``caption`` when there is one."""
    caption_band = _caption(caption, size)
    return [_watermark(size)] + ([caption_band] if caption_band is not None else [])


def _even(value: float) -> int:
    return int(value) // 2 * 2


def load_font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` px: a scalable FreeType font whenever Pillow has FreeType."""
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # the bitmap fallback has one size and no .size to lay out by
        raise RuntimeError("Pillow was built without FreeType, so the clip's mark and caption cannot be drawn.")
    return font


@functools.lru_cache(maxsize=16)
def _watermark(size: tuple[int, int]) -> Overlay:
    """The "SIMULATED" mark for the bottom-left corner (players put their own buttons and labels in the top
    corners, which would hide it): white on a translucent dark pill, rendered once."""
    # About 1/36 of the short side, legible down to small previews, yet never wider than half the frame.
    font = load_font(min(max(8, min(size) // 36), max(5, size[0] // 11)))
    left, top, right, bottom = font.getbbox("SIMULATED")
    pad = max(2, font.size // 3)
    patch = Image.new("RGBA", (_even(right - left + 2 * pad + 1), _even(bottom - top + 2 * pad + 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, patch.width - 1, patch.height - 1), radius=pad, fill=(0, 0, 0, 140))
    draw.text((pad - left, pad - top), "SIMULATED", font=font, fill=(255, 255, 255, 235))
    margin = _even(max(2, min(size) // 40))
    return Overlay.from_rgba(patch, margin, max(0, _even(size[1] - patch.height - margin)), size)


@functools.lru_cache(maxsize=32)
def _caption(text: str, size: tuple[int, int]) -> Overlay | None:
    """A translucent band near the bottom with ``text`` on at most two lines, or None when there is no text."""
    text = " ".join(text.split())
    if not text:
        return None
    font = load_font(max(8, min(size) // 24))
    lines = wrap(text, font, size[0] * 0.9, max_lines=2)
    line_height = round(font.size * 1.3)
    band = Image.new("RGBA", (size[0], _even(line_height * len(lines) + font.size + 1)), (0, 0, 0, 150))
    draw = ImageDraw.Draw(band)
    for row, line in enumerate(lines):
        draw.text((size[0] / 2, font.size / 2 + row * line_height), line, font=font, fill="white", anchor="mt")
    top = max(0, _even(size[1] - band.height - size[1] // 9))  # clear of the SIMULATED mark below it
    return Overlay.from_rgba(band, 0, top, size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """``text`` wrapped at spaces (or inside words too long for a line) into lines; an ellipsis marks a cut."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(joined) <= width:
            lines[-1] = joined
        else:
            lines.extend(_break_word(word, font, width))
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [_with_ellipsis(lines[max_lines - 1], font, width)]
    return lines


def _break_word(word: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``word`` split into pieces that each fit ``width`` (text without spaces, such as Chinese, needs this)."""
    pieces = [""]
    for char in word:
        if pieces[-1] and font.getlength(pieces[-1] + char) > width:
            pieces.append("")
        pieces[-1] += char
    return pieces


def _with_ellipsis(line: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``line`` cut short enough that "…" after it still fits ``width``."""
    while line and font.getlength(line.rstrip() + " …") > width:
        line = line[:-1]
    return line.rstrip() + " …"
