"""Images: read what a visitor gave, check it, orient it, fit it to the ratio and encode it as a data URI that fits.

Every limit comes from the ``InputLimits`` passed in (``capabilities.py``); every rejection is a ``MediaError``
naming the caller's field label and saying what is allowed. The functions block (Pillow): callers run them in a
worker thread.

Decisions (see also the function docstrings):

* Images are decoded only after the header passed a size guard: at most ``MAX_SOURCE_PIXELS`` (100 megapixels)
  and each side at most ``SOURCE_SIDE_FACTOR`` (4) times ``limits.image_max_side_px``. Larger files are "too
  large to process"; smaller ones are scaled down to the output size, so what is sent always respects
  ``image_max_side_px``. JPEGs are decoded at a reduced scale (``draft``) when only a smaller size is needed.
* "crop" and "pad" produce the ratio's size (``ratio_size``). A ratio whose aspect falls outside
  ``[image_min_aspect, image_max_aspect]`` (1584:672 is 2.36) is narrowed to the nearest allowed aspect
  (1344x672), because an image input outside that range is refused; the model still renders the ratio asked for.
* "pad" fills the bars with a blurred, darkened cover of the image itself rather than flat black, so the model
  sees plausible, quiet content there.
* "as-is" keeps the aspect (rejected when outside the allowed range) and only scales down: the long side is at
  most the ratio's long side (and ``image_max_side_px``), so a portrait photo keeps its detail under a landscape
  ratio.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError

from studio.capabilities import InputLimits, ratio_size
from studio.errors import MediaError
from studio.i18n import Join, Msg
from studio.media.datauri import data_uri
from studio.uris import human_bytes

StrPath = str | os.PathLike[str]
Fit = Literal["crop", "pad", "as-is"]

MAX_SOURCE_PIXELS = 100_000_000  # refuse to decode more than this (a decompression-bomb guard)
NO_RATIO_MAX_SIDE = 1920  # an image for a model that takes no ratio (its output is at most 1080p)
SOURCE_SIDE_FACTOR = 4  # a source side may be this many times image_max_side_px before it is refused
# An image that must be enlarged more than this to fill the output frame is refused before anything is sent: past
# 4x each source pixel covers 16 or more output pixels, so the model is given a blur (a 1x1 PNG, or the ~18x10 px
# an 8000x10 strip keeps under "crop") and a paid provider still charges full price for the video made from it.
# At 4x a 320x180 thumbnail still fills 1280:720, and everyday sources (a 480p frame at 1080p is 2.25x) pass.
MAX_UPSCALE = 4

_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
_IMAGE_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")
# Encoder settings tried in order until the data URI fits; then the same ladder at smaller scales.
_ENCODE_LADDER = (("JPEG", 90), ("JPEG", 80), ("JPEG", 70), ("JPEG", 60), ("WEBP", 70), ("WEBP", 50))
_DOWNSCALES = (1.0, 0.75, 0.5, 0.35, 0.25)


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send, and what the visitor should see of it."""

    data_uri: str  # data:image/jpeg;base64,... (or webp): what is sent
    width: int
    height: int
    mime: str
    source_size: tuple[int, int]  # of the original, after EXIF orientation
    preview: Image.Image  # RGB, exactly the pixels that were encoded


def prepare_image(
    source: bytes | StrPath, *, field: str, ratio: str | None, fit: Fit = "crop", limits: InputLimits
) -> PreparedImage:
    """Read, check, orient and fit an image to ``ratio``, and encode it as a data URI within the limits.

    ``fit``: "crop" covers the ratio's size and crops the centre; "pad" fits inside it and fills the bars with a
    blurred, darkened copy of the image; "as-is" keeps the image's own aspect (refused outside the allowed
    range) and only scales it down. Without a ``ratio`` (aleph2's keyframes: the output keeps the input video's
    size) the image is sent as it is, at most ``NO_RATIO_MAX_SIDE`` px on its long side. Raises
    ``MediaError(field, ...)`` for anything that cannot be used.
    """
    fit = fit if ratio else "as-is"
    with _opened_image(source, field=field, limits=limits) as img:
        source_size = _oriented_size(img)
        target = _target_size(source_size, ratio=ratio, fit=fit, field=field, limits=limits)
        _draft_for(img, source_size=source_size, target=target, fit=fit)
        rgb = _decoded_rgb(img, field=field)
    _check_enlargement(source_size, ratio=ratio, fit=fit, field=field, limits=limits)  # a damaged file says so first
    fitted = _fit(rgb, target, fit=fit)
    uri, mime, preview = _encode_to_fit(fitted, field=field, limits=limits)
    return PreparedImage(uri, preview.width, preview.height, mime, source_size, preview)


def _format_list(formats: tuple[str, ...]) -> Join:
    return Join([_FORMAT_NAMES.get(name, name) for name in formats], "list_or")


def _use_instead(limits: InputLimits) -> Msg:
    return Msg("media.use_image", formats=_format_list(limits.image_formats))


@contextmanager
def _binary(source: bytes | StrPath, *, field: str) -> Iterator[BinaryIO]:
    """The source as a readable binary file; MediaError when a path cannot be read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(source))
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, after Pillow has finished reading
    except OSError as err:
        raise MediaError(field, Msg("media.unreadable_file", reason=str(err.strerror or err))) from err
    with handle:
        yield handle


def _sniffed_kind(head: bytes) -> str | None:
    """Formats recognised from their first bytes, before Pillow: SVG (text) and HEIC (iPhone photos)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) or (text.startswith(b"<!doctype") and b"<svg" in text):
        return "SVG"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "HEIC"
    return None


@contextmanager
def _opened_image(source: bytes | StrPath, *, field: str, limits: InputLimits) -> Iterator[Image.Image]:
    """The image opened lazily (header only), after the format and size checks."""
    with _binary(source, field=field) as handle:
        head = handle.read(512)
        if not head:
            raise MediaError(field, Msg("media.empty_image", advice=_use_instead(limits)))
        kind = _sniffed_kind(head)
        if kind is not None:
            raise MediaError(field, Msg("media.format_refused", kind=kind, advice=_use_instead(limits)))
        handle.seek(0)
        with _pillow_open(handle, field=field, limits=limits) as img:
            _check_format(img, field=field, limits=limits)
            _check_source_size(img.size, field=field, limits=limits)
            yield img


@contextmanager
def _pillow_open(handle: BinaryIO, *, field: str, limits: InputLimits) -> Iterator[Image.Image]:
    try:
        img = Image.open(handle)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaError(field, _too_large_message(None, limits)) from err
    except UnidentifiedImageError as err:
        raise MediaError(field, Msg("media.not_an_image", advice=_use_instead(limits))) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise MediaError(field, Msg("media.image_unreadable", advice=_use_instead(limits))) from err
    with img:
        yield img


def _check_format(img: Image.Image, *, field: str, limits: InputLimits) -> None:
    if _format_of(img) not in limits.image_formats:
        if img.format:
            raise MediaError(field, Msg("media.format_refused", kind=img.format, advice=_use_instead(limits)))
        raise MediaError(field, Msg("media.format_refused_unknown", advice=_use_instead(limits)))


def _source_caps(limits: InputLimits) -> tuple[int, int]:
    return MAX_SOURCE_PIXELS, limits.image_max_side_px * SOURCE_SIDE_FACTOR


def _too_large_message(size: tuple[int, int] | None, limits: InputLimits) -> Msg:
    max_pixels, max_side = _source_caps(limits)
    if size:
        return Msg(
            "media.image_too_large_size",
            width=size[0],
            height=size[1],
            megapixels=max_pixels // 1_000_000,
            side=max_side,
        )
    return Msg("media.image_too_large", megapixels=max_pixels // 1_000_000, side=max_side)


def _check_source_size(size: tuple[int, int], *, field: str, limits: InputLimits) -> None:
    """Refuse, before decoding, an image whose header announces too many pixels."""
    max_pixels, max_side = _source_caps(limits)
    width, height = size
    if width * height > max_pixels or max(width, height) > max_side:
        raise MediaError(field, _too_large_message(size, limits))
    if width < 1 or height < 1:
        raise MediaError(field, Msg("media.no_pixels", advice=_use_instead(limits)))


def _oriented_size(img: Image.Image) -> tuple[int, int]:
    """The size as displayed: EXIF orientations 5-8 swap width and height."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError):  # unreadable EXIF: treated as upright, like exif_transpose does
        orientation = 1
    return (img.height, img.width) if orientation in (5, 6, 7, 8) else img.size


def _output_aspect_size(ratio: str, limits: InputLimits) -> tuple[int, int]:
    """The ratio's size, narrowed to the allowed aspect range and the side limit."""
    width, height = ratio_size(ratio)
    if width / height > limits.image_max_aspect:
        width = math.floor(height * limits.image_max_aspect)
    elif width / height < limits.image_min_aspect:
        height = math.floor(width / limits.image_min_aspect)
    return _within_side(width, height, max_side=limits.image_max_side_px)


def _within_side(width: int, height: int, *, max_side: int) -> tuple[int, int]:
    """(width, height) scaled down, never up, so the long side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _target_size(
    source_size: tuple[int, int], *, ratio: str | None, fit: Fit, field: str, limits: InputLimits
) -> tuple[int, int]:
    """The size the sent image will have (before any downscaling needed to fit the byte limit)."""
    if ratio and fit in ("crop", "pad"):
        return _output_aspect_size(ratio, limits)
    width, height = source_size
    aspect = width / height
    if not limits.image_min_aspect <= aspect <= limits.image_max_aspect:
        raise MediaError(
            field,
            Msg(
                "media.as_is_aspect",
                width=width,
                height=height,
                aspect=aspect,
                low=limits.image_min_aspect,
                high=limits.image_max_aspect,
            ),
        )
    long_side = min(max(ratio_size(ratio)) if ratio else NO_RATIO_MAX_SIDE, limits.image_max_side_px)
    return _within_side(width, height, max_side=long_side)


def _check_enlargement(
    source_size: tuple[int, int], *, ratio: str | None, fit: Fit, field: str, limits: InputLimits
) -> None:
    """Refuse an image whose short side after fitting to the output frame is under 1/MAX_UPSCALE of the frame's:
    under "crop", the part kept must not be enlarged more than MAX_UPSCALE times; under "pad" (and "as-is", which
    the provider fits inside the frame) neither must the whole image, nor may it shrink to a sliver of the frame.
    Without a ratio the output keeps the input video's size: nothing to compare with."""
    if not ratio:
        return
    frame = _output_aspect_size(ratio, limits)
    scale = _fit_scale(source_size, frame, "crop" if fit == "crop" else "pad")
    short = math.ceil(min(frame) / MAX_UPSCALE)
    sizes = {"width": source_size[0], "height": source_size[1], "ratio": ratio, "fit": fit, "short": short}
    if scale > MAX_UPSCALE:
        raise MediaError(
            field,
            Msg(
                "media.image_too_small",
                scale=round(scale),
                most=MAX_UPSCALE,
                min_width=math.ceil(frame[0] / MAX_UPSCALE),
                min_height=math.ceil(frame[1] / MAX_UPSCALE),
                **sizes,
            ),
        )
    shown = (max(1, round(source_size[0] * scale)), max(1, round(source_size[1] * scale)))
    if min(shown) < short:
        raise MediaError(field, Msg("media.image_sliver", shown_width=shown[0], shown_height=shown[1], **sizes))


def _fit_scale(source_size: tuple[int, int], target: tuple[int, int], fit: Fit) -> float:
    scales = (target[0] / source_size[0], target[1] / source_size[1])
    return max(scales) if fit == "crop" else min(scales)


def _format_of(img: Image.Image) -> str | None:
    """Pillow's format name; camera "MPO" files (a JPEG with extra pictures appended) count as JPEG."""
    return "JPEG" if img.format == "MPO" else img.format


def _draft_for(img: Image.Image, *, source_size: tuple[int, int], target: tuple[int, int], fit: Fit) -> None:
    """Let the JPEG decoder decode at 1/2, 1/4 or 1/8 scale when only a smaller image is needed."""
    scale = _fit_scale(source_size, target, fit)
    if _format_of(img) == "JPEG" and scale < 0.5:
        img.draft(None, (math.ceil(img.width * scale), math.ceil(img.height * scale)))


def _decoded_rgb(img: Image.Image, *, field: str) -> Image.Image:
    """Decode every pixel (a truncated file fails here), apply EXIF orientation, convert to RGB."""
    try:
        img.load()
        upright = ImageOps.exif_transpose(img)
        return _to_rgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaError(field, Msg("media.image_too_large_decoded")) from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise MediaError(field, Msg("media.image_damaged")) from err


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB for any mode: 16/32-bit greys rescaled, transparency composited on white, ICC profiles honoured."""
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_rgb(img)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("RGB", "CMYK") and img.info.get("icc_profile"):
        converted = _icc_to_srgb(img)
        if converted is not None:
            return converted
    return img.convert("RGB")


def _high_depth_to_rgb(img: Image.Image) -> Image.Image:
    """A 16-bit ('I;16') or 32-bit ('I', 'F') grey image as 8-bit RGB."""
    values = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16"):
        values = values / 257.0
    else:
        peak = float(values.max()) if values.size else 0.0
        values = values * (255.0 / peak) if peak > 255 else values
    grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _icc_to_srgb(img: Image.Image) -> Image.Image | None:
    """The image converted from its embedded colour profile to sRGB, or None when the profile is unusable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        converted = ImageCms.profileToProfile(img, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return converted if isinstance(converted, Image.Image) else None


def _fit(img: Image.Image, target: tuple[int, int], *, fit: Fit) -> Image.Image:
    if fit == "crop":
        return ImageOps.fit(img, target, method=Image.Resampling.LANCZOS)
    if fit == "pad":
        return _padded(img, target)
    return img if img.size == target else img.resize(target, Image.Resampling.LANCZOS)


def _padded(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The whole image centred in ``target``; the bars show a blurred, darkened cover of the image."""
    small = ImageOps.fit(img, (max(1, target[0] // 16), max(1, target[1] // 16)), method=Image.Resampling.BILINEAR)
    background = small.filter(ImageFilter.GaussianBlur(2)).resize(target, Image.Resampling.BILINEAR)
    background = Image.blend(background, Image.new("RGB", target), 0.45)
    foreground = ImageOps.contain(img, target, method=Image.Resampling.LANCZOS)
    background.paste(foreground, ((target[0] - foreground.width) // 2, (target[1] - foreground.height) // 2))
    return background


def _encoded(img: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        img.save(buffer, fmt, quality=quality)
    return buffer.getvalue()


def _scaled(img: Image.Image, scale: float) -> Image.Image:
    if scale == 1.0:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _encode_to_fit(img: Image.Image, *, field: str, limits: InputLimits) -> tuple[str, str, Image.Image]:
    """(data URI, mime, the pixels encoded): JPEG stepping down in quality, then WebP, then smaller sizes."""
    ladder = [(fmt, q) for fmt, q in _ENCODE_LADDER if fmt in limits.image_formats]
    if not ladder:
        accepted = _format_list(limits.image_formats)
        raise MediaError(field, Msg("media.no_writable_format", formats=accepted))
    smallest = None
    for scale in _DOWNSCALES:
        candidate = _scaled(img, scale)
        for fmt, quality in ladder:
            uri = data_uri(_encoded(candidate, fmt, quality), _IMAGE_MIME[fmt])
            if len(uri) <= limits.image_data_uri_bytes:
                return uri, _IMAGE_MIME[fmt], candidate
            smallest = len(uri) if smallest is None else min(smallest, len(uri))
    raise MediaError(
        field,
        Msg(
            "media.image_cannot_fit", cap=human_bytes(limits.image_data_uri_bytes), smallest=human_bytes(smallest or 0)
        ),
    )
