"""Image and video preparation: read what a visitor gave, check it, and turn it into a data URI that fits.

Every limit comes from the ``InputLimits`` / ``VideoInputRule`` objects passed in (``capabilities.py``); every
rejection is a ``MediaError`` naming the caller's field label and saying what is allowed. The functions block
(Pillow, PyAV): callers run them in a worker thread.

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
* Re-encoded videos are H.264/yuv420p MP4 with faststart, at most ``REENCODE_MAX_SIDE`` px on the long side,
  without audio (the API uses the video only). A video sent as it is keeps its audio and container type.
"""

from __future__ import annotations

import base64
import io
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

import av
import av.error
import numpy as np
from av.container import InputContainer, OutputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError

from studio.capabilities import InputLimits, VideoInputRule, ratio_size
from studio.errors import MediaError
from studio.i18n import Join, Msg
from studio.uris import human_bytes, url_problem

StrPath = str | os.PathLike[str]
Fit = Literal["crop", "pad", "as-is"]

MAX_SOURCE_PIXELS = 100_000_000  # refuse to decode more than this (a decompression-bomb guard)
SOURCE_SIDE_FACTOR = 4  # a source side may be this many times image_max_side_px before it is refused
REENCODE_MAX_SIDE = 1280  # the long side of a re-encoded video, at most
SENDABLE_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "vp8", "vp9", "prores"})  # runway-api.md

_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
_IMAGE_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")
# Encoder settings tried in order until the data URI fits; then the same ladder at smaller scales.
_ENCODE_LADDER = (("JPEG", 90), ("JPEG", 80), ("JPEG", 70), ("JPEG", 60), ("WEBP", 70), ("WEBP", 50))
_DOWNSCALES = (1.0, 0.75, 0.5, 0.35, 0.25)
# (long side, x264 CRF) tried in order until the re-encoded video fits: quality first, then size.
_VIDEO_ATTEMPTS = ((REENCODE_MAX_SIDE, 23), (REENCODE_MAX_SIDE, 28), (960, 30), (720, 32), (480, 34), (360, 36))
_MAX_OUTPUT_FPS = 60


# --- images ---------------------------------------------------------------------------------------------------


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
    source: bytes | StrPath, *, field: str, ratio: str, fit: Fit = "crop", limits: InputLimits
) -> PreparedImage:
    """Read, check, orient and fit an image to ``ratio``, and encode it as a data URI within the limits.

    ``fit``: "crop" covers the ratio's size and crops the centre; "pad" fits inside it and fills the bars with a
    blurred, darkened copy of the image; "as-is" keeps the image's own aspect (refused outside the allowed
    range) and only scales it down. Raises ``MediaError(field, ...)`` for anything that cannot be used.
    """
    with _opened_image(source, field=field, limits=limits) as img:
        source_size = _oriented_size(img)
        target = _target_size(source_size, ratio=ratio, fit=fit, field=field, limits=limits)
        _draft_for(img, source_size=source_size, target=target, fit=fit)
        rgb = _decoded_rgb(img, field=field)
    fitted = _fit(rgb, target, fit=fit)
    data_uri, mime, preview = _encode_to_fit(fitted, field=field, limits=limits)
    return PreparedImage(data_uri, preview.width, preview.height, mime, source_size, preview)


def _format_list(formats: tuple[str, ...]) -> str:
    return Join([_FORMAT_NAMES.get(name, name) for name in formats], "list_or")


def _use_instead(limits: InputLimits) -> str:
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


def _too_large_message(size: tuple[int, int] | None, limits: InputLimits) -> str:
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
    source_size: tuple[int, int], *, ratio: str, fit: Fit, field: str, limits: InputLimits
) -> tuple[int, int]:
    """The size the sent image will have (before any downscaling needed to fit the byte limit)."""
    if fit in ("crop", "pad"):
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
    long_side = min(max(ratio_size(ratio)), limits.image_max_side_px)
    return _within_side(width, height, max_side=long_side)


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


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


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
            uri = _data_uri(_encoded(candidate, fmt, quality), _IMAGE_MIME[fmt])
            if len(uri) <= limits.image_data_uri_bytes:
                return uri, _IMAGE_MIME[fmt], candidate
            smallest = len(uri) if smallest is None else min(smallest, len(uri))
    raise MediaError(
        field,
        Msg(
            "media.image_cannot_fit", cap=human_bytes(limits.image_data_uri_bytes), smallest=human_bytes(smallest or 0)
        ),
    )


# --- videos ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds. ``width``/``height`` are as displayed (rotation metadata applied)."""

    duration_s: float
    width: int
    height: int
    codec: str  # canonical codec name: h264, hevc, av1, vp9, mpeg4, ...
    has_video: bool
    has_audio: bool
    size_bytes: int
    container: str = ""  # mp4, mov, webm, mkv, avi, ...


@dataclass(frozen=True)
class PreparedVideo:
    """A video ready to send."""

    data_uri: str  # data:video/mp4;base64,... (video/quicktime or video/webm when sent as it was)
    info: VideoInfo  # of what is sent
    source: VideoInfo
    trimmed: bool  # only the first ``rule.use_first_seconds`` were kept
    reencoded: bool
    path: Path | None = None  # the file that was encoded (the source itself when sent as it was)


def probe_video(path: StrPath, *, field: str) -> VideoInfo:
    """Read a video's length, size, codec and tracks; decodes its first frame to be sure it is usable.

    Raises ``MediaError(field, ...)`` for a missing, empty, unreadable or corrupt file, a file without a video
    track (audio only), and a video with no frames or no length.
    """
    size_bytes = _file_size(path, field=field)
    with _opened_video(path, field=field) as container:
        stream = _video_stream(container, field=field)
        first = _first_frame(container, stream, field=field)
        duration = _duration(container, stream, field=field)
        width, height = _display_size(first)
        return VideoInfo(
            duration_s=duration,
            width=width,
            height=height,
            codec=stream.codec_context.codec.canonical_name,
            has_video=True,
            has_audio=bool(container.streams.audio),
            size_bytes=size_bytes,
            container=_container_kind(container, Path(path)),
        )


def _file_size(path: StrPath, *, field: str) -> int:
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise MediaError(field, Msg("media.unreadable_file", reason=str(err.strerror or err))) from err
    if size == 0:
        raise MediaError(field, Msg("media.empty_video"))
    return size


@contextmanager
def _opened_video(path: StrPath, *, field: str) -> Iterator[InputContainer]:
    try:
        container = av.open(os.fspath(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise MediaError(field, Msg("media.not_a_video")) from err
    with container:
        yield container


def _picture_stream(container: InputContainer) -> VideoStream | None:
    """The first real video track: cover art in a music file is a one-picture "video" stream, skipped."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _video_stream(container: InputContainer, *, field: str) -> VideoStream:
    stream = _picture_stream(container)
    if stream is not None and _is_still_image(container, stream):
        raise MediaError(field, Msg("media.still_image"))
    if stream is not None:
        return stream
    if container.streams.audio:
        raise MediaError(field, Msg("media.sound_only"))
    raise MediaError(field, Msg("media.no_frames"))


STILL_IMAGE_CODECS = frozenset({"png", "mjpeg", "jpegls", "webp", "gif", "bmp", "tiff", "apng", "qoi"})


def _is_still_image(container: InputContainer, stream: VideoStream) -> bool:
    """A picture file read as a one-frame "video" (PyAV's image demuxers would let a PNG named .mp4 through)."""
    demuxer = container.format.name or ""
    return (
        demuxer.endswith("_pipe")
        or demuxer.startswith("image2")
        or (stream.codec_context.name in STILL_IMAGE_CODECS and (stream.frames or 0) <= 1)
    )


def _first_frame(container: InputContainer, stream: VideoStream, *, field: str) -> VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise MediaError(field, Msg("media.video_damaged")) from err
    raise MediaError(field, Msg("media.no_frames"))


def _duration(container: InputContainer, stream: VideoStream, *, field: str) -> float:
    """The length in seconds: the stream's, else the container's, else measured by decoding every frame."""
    duration: float | None = None
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    if not duration or duration <= 0:
        duration = _decoded_duration(container, stream)
    if duration <= 0:
        raise MediaError(field, Msg("media.no_length"))
    return duration


def _decoded_duration(container: InputContainer, stream: VideoStream) -> float:
    """The length measured by decoding: the last frame's end minus the first frame's start."""
    container.seek(0)
    start = end = None
    step = 1 / float(stream.guessed_rate or 30)
    try:
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            start = frame.time if start is None else start
            end = frame.time + (float(frame.duration * frame.time_base) if frame.duration and frame.time_base else step)
    except (av.error.FFmpegError, ValueError):
        pass  # a damaged tail: the frames decoded so far give the length
    return 0.0 if start is None or end is None else end - start


def _display_size(frame: VideoFrame) -> tuple[int, int]:
    return (frame.height, frame.width) if abs(frame.rotation) == 90 else (frame.width, frame.height)


def _container_kind(container: InputContainer, path: Path) -> str:
    """mp4, mov or webm when the file is one of those; otherwise the demuxer's short name (mkv, avi, ...)."""
    names = container.format.name.split(",")
    if "mp4" in names:
        brand = container.metadata.get("major_brand", "").strip().lower()
        return "mov" if brand == "qt" else "3gp" if brand.startswith("3g") else "mp4"
    if "matroska" in names:
        codecs = {s.codec_context.codec.canonical_name for s in container.streams if s.type in ("video", "audio")}
        return "webm" if path.suffix.lower() == ".webm" and codecs <= _WEBM_CODECS else "mkv"
    return names[0]


def prepare_video(
    path: StrPath, *, field: str, rule: VideoInputRule, limits: InputLimits, workdir: StrPath
) -> PreparedVideo:
    """Check a video against ``rule`` and ``limits`` and make it a data URI, re-encoding only when needed.

    The length that counts (the first ``rule.use_first_seconds`` when set) must be within
    ``rule.min_seconds``..``rule.max_seconds``. The file is re-encoded to H.264 MP4 in ``workdir`` when its codec
    or container is not accepted, when it must be trimmed, or when it would not fit
    ``limits.video_data_uri_bytes``; otherwise it is sent as it is.
    """
    source = probe_video(path, field=field)
    keep = _seconds_to_keep(source, rule)
    _check_length(source.duration_s if keep is None else keep, rule=rule, field=field)
    mime = _VIDEO_MIME.get(source.container)
    sendable = keep is None and mime and source.codec in SENDABLE_VIDEO_CODECS
    if sendable and mime and _data_uri_len(source.size_bytes, mime) <= limits.video_data_uri_bytes:
        uri = _data_uri(Path(path).read_bytes(), mime)
        return PreparedVideo(uri, source, source, trimmed=False, reencoded=False, path=Path(path))
    output = _reencode_to_fit(Path(path), source=source, keep_s=keep, field=field, limits=limits, workdir=Path(workdir))
    info = probe_video(output, field=field)
    uri = _data_uri(output.read_bytes(), "video/mp4")
    return PreparedVideo(uri, info, source, trimmed=keep is not None, reencoded=True, path=output)


def _seconds_to_keep(source: VideoInfo, rule: VideoInputRule) -> float | None:
    """How much to keep when the video is longer than the part that is used; None to keep it all."""
    limit = rule.use_first_seconds
    return limit if limit is not None and source.duration_s > limit + 1e-3 else None


def _seconds_text(seconds: float, bound: float) -> str:
    """``seconds`` to one decimal, or two when one decimal would look equal to the bound it failed."""
    text = f"{seconds:.1f}"
    return f"{seconds:.2f}" if float(text) == bound else text


def _allowed_length(rule: VideoInputRule) -> str:
    low, high = rule.min_seconds, rule.max_seconds
    if low is not None and high is not None:
        return Msg("media.length_between", low=low, high=high)
    return Msg("media.length_at_least", low=low) if low is not None else Msg("media.length_at_most", high=high)


def _check_length(seconds: float, *, rule: VideoInputRule, field: str) -> None:
    too_short = rule.min_seconds is not None and seconds < rule.min_seconds - 1e-3
    too_long = rule.max_seconds is not None and seconds > rule.max_seconds + 1e-3
    if too_short or too_long:
        bound = rule.min_seconds if too_short else rule.max_seconds
        shown = _seconds_text(seconds, float(bound or 0))
        raise MediaError(field, Msg("media.bad_length", seconds=shown, allowed=_allowed_length(rule)))


def _data_uri_len(size_bytes: int, mime: str) -> int:
    return len(f"data:{mime};base64,") + 4 * math.ceil(size_bytes / 3)


def _reencode_to_fit(
    path: Path, *, source: VideoInfo, keep_s: float | None, field: str, limits: InputLimits, workdir: Path
) -> Path:
    """Re-encode with ever smaller settings until the data URI fits; the first file that fits is returned."""
    workdir.mkdir(parents=True, exist_ok=True)
    seconds = source.duration_s if keep_s is None else keep_s
    kbps = _budget_kbps(limits.video_data_uri_bytes, seconds)
    smallest = None
    for max_side, crf in _VIDEO_ATTEMPTS:
        output = workdir / f"{uuid.uuid4().hex}.mp4"
        settings = _EncodeSettings(max_side=max_side, crf=crf, maxrate_kbps=kbps, keep_s=keep_s)
        _transcode(path, output, settings=settings, field=field)
        size = _data_uri_len(output.stat().st_size, "video/mp4")
        if size <= limits.video_data_uri_bytes:
            return output
        output.unlink(missing_ok=True)
        smallest = size if smallest is None else min(smallest, size)
    raise MediaError(
        field,
        Msg("media.video_too_large", smallest=human_bytes(smallest or 0), cap=human_bytes(limits.video_data_uri_bytes)),
    )


def _budget_kbps(uri_limit: int, seconds: float) -> int:
    """The video bitrate (kbit/s) that fills about 85 % of the bytes a data URI may carry."""
    file_bytes = (uri_limit - len("data:video/mp4;base64,")) * 3 / 4
    return max(8, int(file_bytes * 0.85 * 8 / max(seconds, 0.1) / 1000))


@dataclass(frozen=True)
class _EncodeSettings:
    max_side: int
    crf: int
    maxrate_kbps: int
    keep_s: float | None


def _transcode(source: Path, output: Path, *, settings: _EncodeSettings, field: str) -> None:
    """Decode ``source`` and write its picture (no audio) as H.264/yuv420p MP4 with faststart."""
    try:
        with (
            av.open(os.fspath(source), mode="r") as inp,
            av.open(os.fspath(output), mode="w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            frames = _write_frames(inp, out, settings=settings)
    except (av.error.FFmpegError, OSError, ValueError) as err:
        output.unlink(missing_ok=True)
        raise MediaError(field, Msg("media.reencode_failed")) from err
    if frames == 0:
        output.unlink(missing_ok=True)
        raise MediaError(field, Msg("media.no_decodable_frames"))


def _output_rate(stream: VideoStream) -> Fraction:
    """The source's frame rate; 30 when it is unknown or above 60 (slow-motion clips are sent at 30)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    return Fraction(rate) if 0 < rate <= _MAX_OUTPUT_FPS else Fraction(30)


def _write_frames(inp: InputContainer, out: OutputContainer, *, settings: _EncodeSettings) -> int:
    """Copy the picture of ``inp`` into ``out``; returns the number of frames written."""
    in_stream = _picture_stream(inp)
    if in_stream is None:
        return 0
    in_stream.thread_type = "AUTO"
    rate = _output_rate(in_stream)
    encoder: VideoStream | None = None
    start: float | None = None
    last_pts, written = -1, 0
    for index, frame in enumerate(inp.decode(in_stream)):
        start = _frame_time(frame, index, rate) if start is None else start
        elapsed = _frame_time(frame, index, rate) - start
        if settings.keep_s is not None and elapsed >= settings.keep_s - 1e-6:
            break
        pts = round(elapsed * rate)
        if pts <= last_pts:
            continue  # two frames in one output slot (variable or high frame rate): keep the first
        encoder = encoder or _add_encoder(out, _display_size(frame), rate=rate, settings=settings)
        out.mux(encoder.encode(_output_frame(frame, encoder, pts=pts, time_base=1 / rate)))
        last_pts, written = pts, written + 1
    if encoder is not None:
        out.mux(encoder.encode(None))
    return written


def _frame_time(frame: VideoFrame, index: int, rate: Fraction) -> float:
    return frame.time if frame.time is not None else index / float(rate)


def _even_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled down to ``max_side`` (never up), both sides even as yuv420p requires."""
    scale = min(1.0, max_side / max(size))
    return tuple(max(2, int(side * scale) // 2 * 2) for side in size)  # type: ignore[return-value]


def _add_encoder(
    out: OutputContainer, display: tuple[int, int], *, rate: Fraction, settings: _EncodeSettings
) -> VideoStream:
    width, height = _even_size(display, settings.max_side)
    options = {
        "crf": str(settings.crf),
        "preset": "veryfast",
        "maxrate": f"{settings.maxrate_kbps}k",
        "bufsize": f"{settings.maxrate_kbps * 2}k",
    }
    stream = out.add_stream("libx264", rate=rate, options=options)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    return stream


def _output_frame(frame: VideoFrame, encoder: VideoStream, *, pts: int, time_base: Fraction) -> VideoFrame:
    """The frame upright (rotation metadata applied), scaled to the encoder's size, as yuv420p."""
    turns = round(frame.rotation / 90) % 4
    if turns:
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=turns)))
    result = frame.reformat(width=encoder.width, height=encoder.height, format="yuv420p")
    result.pts = pts
    result.time_base = time_base
    return result


# --- URLs -----------------------------------------------------------------------------------------------------


def check_url(url: str, *, field: str, limits: InputLimits) -> str:
    """The URL without surrounding spaces, or ``MediaError`` saying why it cannot be sent.

    The studio never fetches it: the provider does (runway-api.md, "Common input rules").
    """
    stripped = url.strip()
    if not stripped:
        raise MediaError(field, Msg("media.no_link"))
    problem = url_problem(stripped, limits=limits)
    if problem is not None:
        raise MediaError(field, Msg("media.link_problem", problem=problem))
    return stripped


def save_frame(video: StrPath, dest: StrPath, *, at: float | Literal["last"] = "last") -> Path:
    """Save one frame of ``video`` at ``dest`` (PNG or JPEG by its suffix): the last one, or the first frame at or
    after the fraction ``at`` of its length (posters, and "use last frame as first frame")."""
    chosen: VideoFrame | None = None
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            length = float(stream.duration * stream.time_base) if stream.duration else None
            target = None if at == "last" or not length else at * length
            for frame in container.decode(stream):
                chosen = frame  # converted once, below: not every frame on the way
                if target is not None and frame.time is not None and frame.time >= target:
                    break
            if chosen is None:
                raise MediaError("Video", Msg("media.clip_no_frames"))
            image = chosen.to_image()
    except (av.FFmpegError, IndexError):
        raise MediaError("Video", Msg("media.clip_unreadable")) from None
    out = Path(dest)
    image.convert("RGB").save(out, quality=88)
    return out


def save_last_frame(video: StrPath, dest: StrPath) -> Path:
    """The last frame of ``video`` as a PNG (the next generation's first frame)."""
    return save_frame(video, dest, at="last")
