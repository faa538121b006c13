"""Render the simulator's clips: real H.264 MP4s made from the real inputs.

Every clip is yuv420p H.264 in an MP4 whose ``moov`` atom comes first (``movflags=+faststart``), so a browser's
``<video>`` starts playing before the download ends. Clips run at :data:`FPS` frames per second with exactly
``round(seconds * FPS)`` frames, carry a small "SIMULATED" mark on every frame and are deterministic: the same
inputs and seed give the same bytes (with the same PyAV build).

Frames are built directly as BT.709 limited-range yuv420p planes (tagged as such in the stream), not as RGB:
that spares a full-frame RGB to YUV conversion per frame and was about 25 % faster overall. Frames are made on a
worker thread while the main thread encodes; Pillow, numpy and swscale release the GIL, so on two cores frame
making and x264 really run side by side.
"""

from __future__ import annotations

import functools
import math
import os
import queue
import random
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
from av.container import InputContainer
from PIL import Image, ImageDraw, ImageFont, ImageOps

__all__ = ["FPS", "render_character_performance", "render_image_to_video", "render_video_to_video"]

FPS = 24

_CRF = "23"
_PRESET = "veryfast"  # superfast/ultrafast are faster but blockier and, on grainy photos, many times larger
# x264's output depends on its thread count, so a fixed count (not "auto") keeps bytes identical across machines.
_X264_THREADS = 3
_MUXER_OPTIONS = {"movflags": "+faststart"}
_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709 share the value 1
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG

Plane = np.ndarray | Image.Image  # one uint8 plane: Pillow "L" where Pillow scales it, numpy elsewhere
Planes = tuple[Plane, Plane, Plane]  # Y at full size, Cb and Cr at half width and height
T = TypeVar("T")

# BT.709 R'G'B' -> limited-range Y'CbCr, rows already scaled for 8 bits (Y 16..235, Cb/Cr 16..240).
_RGB_TO_YUV = (
    np.array([[0.2126, 0.7152, 0.0722], [-0.114572, -0.385428, 0.5], [0.5, -0.454153, -0.045847]])
    * np.array([[219.0], [224.0], [224.0]])
    / 255.0
).astype(np.float32)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)


# --- the three renders ------------------------------------------------------------------------------------------


def render_image_to_video(
    *,
    first: Image.Image,
    last: Image.Image | None,
    size: tuple[int, int],
    seconds: float,
    seed: int,
    dest: Path,
    caption: str = "",
) -> Path:
    """Render a slow camera move over ``first`` (crossfading to ``last`` over the second half) to ``dest``.

    The move is a Ken Burns zoom and pan whose direction and depth come from ``seed``. Images are fitted to
    cover ``size`` and centre-cropped. Returns ``dest``.
    """
    size = _even_size(size)
    count = _frame_count(seconds)
    camera = _Camera.from_seed(seed)
    frames = _camera_frames(first, last, camera, size, count)
    return _write(frames, size=size, dest=dest, overlays=_overlays(size, caption))


def render_video_to_video(
    *,
    video: Path,
    reference: Image.Image | None,
    size: tuple[int, int],
    max_seconds: float,
    seed: int,
    dest: Path,
    caption: str = "",
) -> Path:
    """Render the first ``max_seconds`` of ``video`` regraded toward ``reference``'s colours, captioned, to ``dest``.

    Each frame covers ``size`` (centre crop). Without a reference the regrade is a tint chosen by ``seed``.
    The clip lasts min(input duration, ``max_seconds``). Raises ValueError if ``video`` has no video stream.
    """
    size = _even_size(size)
    count = _frame_count(min(_video_seconds(video), max_seconds))
    regrade = _Regrade(_reference_target(reference) if reference is not None else _tint_target(seed))
    fitted = _fitted(_frames_at(video, _times(count)), size)
    frames = (regrade(planes) for planes in fitted)
    return _write(frames, size=size, dest=dest, overlays=_overlays(size, caption))


def render_character_performance(
    *,
    character: Image.Image | Path,
    reference: Path,
    size: tuple[int, int],
    seed: int,
    dest: Path,
    body_control: bool = True,
    intensity: int = 3,
) -> Path:
    """Render ``character`` (an image, or a looped video) moved by ``reference``'s motion, to ``dest``.

    The reference's motion energy drives a bob, scale and tilt (plus a sway with ``body_control``) whose size
    grows with ``intensity`` (1-5). The clip lasts as long as the reference. Raises ValueError for an intensity
    out of range or a file with no video stream.
    """
    if not 1 <= intensity <= 5:
        raise ValueError(f"Expression intensity must be 1 to 5, not {intensity}.")
    size = _even_size(size)
    count = _frame_count(_video_seconds(reference))
    drive = _drive(*_motion_energy(reference), count)
    poses = _Performance.from_seed(seed, intensity / 3, body_control).poses(drive)
    frames = (_posed(planes, pose, size) for planes, pose in zip(_character_frames(character, size, count), poses))
    return _write(frames, size=size, dest=dest, overlays=_overlays(size, ""))


# --- sizes and timing -------------------------------------------------------------------------------------------


def _even_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` rounded down to even numbers: yuv420p halves both for chroma."""
    width, height = (int(side) // 2 * 2 for side in size)
    if width < 2 or height < 2:
        raise ValueError(f"Output size {size[0]}x{size[1]} is too small to encode.")
    return width, height


def _frame_count(seconds: float) -> int:
    """How many frames make ``seconds`` at :data:`FPS` (at least one)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"A clip must last more than 0 s, not {seconds}.")
    return max(1, round(seconds * FPS))


def _times(count: int) -> Iterator[float]:
    """The presentation time of each output frame, in seconds."""
    return (index / FPS for index in range(count))


def _cover_size(source: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The even size that ``source`` scales to when it just covers ``size``, keeping its aspect ratio."""
    scale = max(size[0] / source[0], size[1] / source[1])
    return tuple(max(want, 2 * math.ceil(have * scale / 2 - 1e-6)) for have, want in zip(source, size))


# --- colour -------------------------------------------------------------------------------------------------


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` upright and in RGB; transparency is laid over black, as a video has no alpha."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        backdrop = Image.new("RGBA", image.size, (0, 0, 0, 255))
        return Image.alpha_composite(backdrop, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _rgb_to_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 limited-range yuv420p planes of an even-sized RGB array; chroma is the mean of each 2x2 block."""
    height, width = rgb.shape[:2]
    yuv = rgb.astype(np.float32) @ _RGB_TO_YUV.T + _YUV_OFFSET
    chroma = yuv[..., 1:].reshape(height // 2, 2, width // 2, 2, 2).mean(axis=(1, 3))
    return _to_u8(yuv[..., 0]), _to_u8(chroma[..., 0]), _to_u8(chroma[..., 1])


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _still_planes(image: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, Image.Image, Image.Image]:
    """``image`` fitted to cover ``size`` (centre crop), as Pillow "L" planes ready for scaling."""
    fitted = ImageOps.fit(_rgb(image), size, Image.Resampling.LANCZOS)
    return tuple(Image.fromarray(plane) for plane in _rgb_to_planes(np.asarray(fitted)))


# --- image to video: the camera move ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Camera:
    """A Ken Burns move over the image fitted to the output size.

    ``zoom`` runs from its first value to its second: 1 shows the whole fitted image, 1.1 the middle 1/1.1 of it.
    ``pan`` is how far the view drifts, as a fraction of the free margin on each axis, from -pan to +pan.

    The view is never larger than the output, so each frame is a slight magnification: Pillow's bilinear resize
    then needs two taps per axis, not the three of a reduction, and runs over twice as fast.
    """

    zoom: tuple[float, float]
    pan: tuple[float, float]

    @classmethod
    def from_seed(cls, seed: int) -> _Camera:
        rng = random.Random(seed)
        depth = rng.uniform(1.06, 1.14)
        zoom = (1.0, depth) if rng.random() < 0.5 else (depth, 1.0)
        angle, amount = rng.uniform(0.0, 2 * math.pi), rng.uniform(0.4, 0.9)
        return cls(zoom=zoom, pan=(amount * math.cos(angle), amount * math.sin(angle)))

    def box(self, progress: float, canvas: tuple[int, int]) -> tuple[float, float, float, float]:
        """The region of a ``canvas``-sized image on view at ``progress`` (0 to 1), as a Pillow resize box."""
        eased = 0.5 * (progress + progress * progress * (3 - 2 * progress))  # half linear, half smoothstep
        zoom = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * eased
        corners = []
        for side, pan in zip(canvas, self.pan):
            span = side / zoom
            centre = side / 2 + pan * (2 * eased - 1) * (side - span) / 2
            corners.append((max(0.0, centre - span / 2), min(float(side), centre + span / 2)))
        (left, right), (top, bottom) = corners
        return left, top, right, bottom


def _camera_frames(
    first: Image.Image, last: Image.Image | None, camera: _Camera, size: tuple[int, int], count: int
) -> Iterator[Planes]:
    """Each frame of the camera move, crossfading from ``first`` to ``last`` over the second half."""
    start = _still_planes(first, size)
    end = _still_planes(last, size) if last is not None else None
    for index in range(count):
        progress = index / max(count - 1, 1)
        source = start if end is None else _mix(start, end, _fade(progress))
        yield _view(source, camera.box(progress, size), size)


def _fade(progress: float) -> float:
    """How much of the last image shows: nothing in the first half, then a smoothstep to all of it."""
    u = min(max(2 * progress - 1, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def _mix(start: Planes, end: Planes, weight: float) -> Planes:
    # Blending the canvases before scaling is cheaper than scaling both and blending the results.
    if weight <= 0:
        return start
    if weight >= 1:
        return end
    return tuple(Image.blend(a, b, weight) for a, b in zip(start, end))


def _view(planes: Planes, box: tuple[float, float, float, float], size: tuple[int, int]) -> Planes:
    """The ``box`` region of a canvas scaled to ``size``; chroma uses the same box at half scale."""
    half = (size[0] // 2, size[1] // 2)
    half_box = tuple(edge / 2 for edge in box)
    luma = planes[0].resize(size, Image.Resampling.BILINEAR, box=box)
    return (luma, *(p.resize(half, Image.Resampling.BILINEAR, box=half_box) for p in planes[1:]))


# --- reading videos ---------------------------------------------------------------------------------------------


def _open_video(video: Path) -> InputContainer:
    """``video`` opened for decoding (threaded); ValueError if it cannot be read or has no video stream."""
    name = Path(video).name
    try:
        container = av.open(str(video))
    except av.FFmpegError as error:
        raise ValueError(f"{name} could not be read as a video ({error}).") from error
    if not container.streams.video:
        container.close()
        raise ValueError(f"{name} has no video stream, so there is nothing to render from it.")
    container.streams.video[0].thread_type = "AUTO"
    return container


def _video_seconds(video: Path) -> float:
    """How long ``video``'s video stream lasts, from its header or, failing that, from its packets."""
    with _open_video(video) as container:
        stream = container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / av.time_base
        return _demuxed_seconds(container)


def _demuxed_seconds(container: InputContainer) -> float:
    """The span of the video packets' timestamps, for files whose header gives no duration."""
    stream = container.streams.video[0]
    start, end = math.inf, -math.inf
    for packet in container.demux(stream):
        if packet.pts is not None:
            start = min(start, packet.pts)
            end = max(end, packet.pts + (packet.duration or 0))
    if end <= start:
        raise ValueError(f"{container.name} has no timed video frames.")
    return float((end - start) * stream.time_base)


class _VideoCursor:
    """Walks forward through a video's frames, answering "which frame is showing at time t?"."""

    def __init__(self, video: Path) -> None:
        self._container = _open_video(video)
        self._frames = self._container.decode(video=0)
        self._current = next(self._frames, None)
        if self._current is None:
            self.close()
            raise ValueError(f"{Path(video).name} has no decodable video frames.")
        self._next = next(self._frames, None)
        self._origin = self._current.time or 0.0
        self.time = 0.0

    def at(self, time: float) -> av.VideoFrame:
        """The frame showing at ``time`` seconds after the first frame; never earlier than the last call."""
        self.time = time
        while self._next is not None and (self._next.time or 0.0) - self._origin <= time + 1e-6:
            self._current, self._next = self._next, next(self._frames, None)
        return self._current

    def close(self) -> None:
        self._container.close()


def _frames_at(video: Path, times: Iterable[float]) -> Iterator[av.VideoFrame]:
    """The frame of ``video`` showing at each of ``times``; a time earlier than the one before restarts it."""
    cursor: _VideoCursor | None = None
    try:
        for time in times:
            if cursor is None or time < cursor.time:
                if cursor is not None:
                    cursor.close()
                cursor = _VideoCursor(video)
            yield cursor.at(time)
    finally:
        if cursor is not None:
            cursor.close()


def _fitted(frames: Iterable[av.VideoFrame], size: tuple[int, int]) -> Iterator[Planes]:
    """Each frame fitted to ``size``; a frame shown twice in a row (slower input) is fitted once."""
    previous, planes = None, None
    for frame in frames:
        if frame is not previous:
            previous, planes = frame, _fit_frame(frame, size)
        yield planes


def _fit_frame(frame: av.VideoFrame, size: tuple[int, int]) -> Planes:
    """``frame`` scaled by swscale straight to yuv420p covering ``size``, then centre-cropped to it."""
    cover = _cover_size((frame.width, frame.height), size)
    scaled = frame.reformat(width=cover[0], height=cover[1], format="yuv420p")
    left, top = ((have - want) // 4 * 2 for have, want in zip(cover, size))  # even, so chroma lines up
    (width, height), planes = size, _plane_arrays(scaled)
    luma = planes[0][top : top + height, left : left + width]
    chroma = (p[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2] for p in planes[1:])
    return (luma, *chroma)


def _plane_arrays(frame: av.VideoFrame) -> list[np.ndarray]:
    """Writable numpy views of a frame's planes, without the row padding."""
    return [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes]


# --- video to video: the regrade --------------------------------------------------------------------------------

Stats = tuple[np.ndarray, np.ndarray]  # per-plane mean and standard deviation, each of shape (3,)


def _plane_stats(planes: Planes) -> Stats:
    # Every 4th pixel each way is plenty for a mean and a spread, at 1/16 of the cost.
    samples = [np.asarray(p)[::4, ::4].astype(np.float32) for p in planes]
    return np.array([s.mean() for s in samples]), np.array([s.std() for s in samples])


def _reference_target(reference: Image.Image) -> Callable[[Stats], Stats]:
    """A regrade target that is the reference image's own colour statistics."""
    small = np.asarray(_rgb(reference).resize((128, 128), Image.Resampling.BOX))
    target = _plane_stats(_rgb_to_planes(small))
    return lambda _source: target


def _tint_target(seed: int) -> Callable[[Stats], Stats]:
    """A regrade target that shifts each frame's chroma by a hue and strength chosen from ``seed``."""
    rng = random.Random(seed)
    hue, strength = rng.uniform(0.0, 2 * math.pi), rng.uniform(14.0, 24.0)
    shift = np.array([rng.uniform(-6.0, 6.0), strength * math.cos(hue), strength * math.sin(hue)])
    return lambda source: (source[0] + shift / _Regrade.strength, source[1])


class _Regrade:
    """Moves each frame's per-plane mean and spread toward a target, ``strength`` of the way.

    The transfer is linear per plane, so it is applied as one 256-entry lookup table per plane.
    """

    strength = 0.6

    def __init__(self, target: Callable[[Stats], Stats]) -> None:
        self._target = target
        self._source: Stats | None = None

    def __call__(self, planes: Planes) -> Planes:
        stats = _plane_stats(planes)
        # Smoothed over frames: raw per-frame statistics make the grade flicker as things move.
        if self._source is not None:
            stats = tuple(0.8 * old + 0.2 * new for old, new in zip(self._source, stats))
        self._source = stats
        return tuple(lut[np.asarray(p)] for lut, p in zip(self._luts(stats), planes))

    def _luts(self, source: Stats) -> list[np.ndarray]:
        (mean, spread), (target_mean, target_spread) = source, self._target(source)
        gain = np.clip(target_spread / np.maximum(spread, 1.0), 0.5, 2.0)
        levels = np.arange(256, dtype=np.float32)
        moved = [(levels - m) * g + t for m, g, t in zip(mean, gain, target_mean)]
        return [_to_u8(levels + self.strength * (m - levels)) for m in moved]


# --- character performance --------------------------------------------------------------------------------------


def _motion_energy(video: Path) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's time and motion energy: mean absolute difference to the previous frame at 64x64 grey."""
    times, energy, previous = [], [], None
    with _open_video(video) as container:
        for frame in container.decode(video=0):
            grey = frame.reformat(width=64, height=64, format="gray").to_ndarray().astype(np.float32)
            energy.append(0.0 if previous is None else float(np.abs(grey - previous).mean()))
            times.append(frame.time or 0.0)
            previous = grey
    if not times:
        raise ValueError(f"{Path(video).name} has no decodable video frames.")
    return np.array(times) - times[0], np.array(energy)


def _drive(times: np.ndarray, energy: np.ndarray, count: int) -> np.ndarray:
    """How strongly to move at each output frame, 0 (still) to nearly 1, from the reference's motion energy."""
    sampled = np.interp(np.arange(count) / FPS, times, energy)
    window = np.ones(7) / 7  # about 0.3 s: follows gestures, ignores single-frame jumps
    smoothed = np.convolve(np.pad(sampled, 3, mode="edge"), window, mode="valid")
    # A fixed scale, not normalised to the clip's peak, so a still reference stays still.
    return 1.0 - np.exp(-smoothed / 3.0)


@dataclass(frozen=True)
class _Pose:
    """One frame's displacement (fractions of the frame), scale and tilt (radians) of the character."""

    dx: float
    dy: float
    scale: float
    tilt: float


@dataclass(frozen=True)
class _Performance:
    """How the character moves: oscillations whose speed and size follow the drive signal."""

    phases: tuple[float, float, float, float]
    tempo: float  # cycles per second at full drive
    amount: float  # intensity / 3
    sway: bool

    @classmethod
    def from_seed(cls, seed: int, amount: float, sway: bool) -> _Performance:
        rng = random.Random(seed)
        phases = tuple(rng.uniform(0.0, 2 * math.pi) for _ in range(4))
        return cls(phases=phases, tempo=rng.uniform(0.8, 1.4), amount=amount, sway=sway)

    def poses(self, drive: np.ndarray) -> Iterator[_Pose]:
        # The phase advances with the drive, so a still reference freezes the motion rather than only damping it.
        phase = np.cumsum(drive) * 2 * math.pi * self.tempo / FPS
        size = drive * self.amount
        p0, p1, p2, p3 = self.phases
        sway = 0.03 * size * np.sin(0.5 * phase + p3) if self.sway else np.zeros_like(size)
        bob = 0.02 * size * np.sin(phase + p0)
        scale = 1 + 0.03 * size * (1.5 + np.sin(0.5 * phase + p1)) / 2.5
        tilt = math.radians(1.2) * size * np.sin(0.7 * phase + p2)
        return (_Pose(*values) for values in zip(sway, bob, scale, tilt))


def _character_frames(character: Image.Image | Path, size: tuple[int, int], count: int) -> Iterator[Planes]:
    """The character's planes for each output frame: an image repeated, or a video's frames looped."""
    if isinstance(character, Image.Image):
        planes = _still_planes(character, size)
        return (planes for _ in range(count))
    loop = max(_video_seconds(Path(character)), 1 / FPS)  # a one-frame clip may report no length at all
    times = ((index / FPS) % loop for index in range(count))
    return _fitted(_frames_at(Path(character), times), size)


def _posed(planes: Planes, pose: _Pose, size: tuple[int, int]) -> Planes:
    """``planes`` moved to ``pose``; the identity pose (a still reference) skips the resampling."""
    if pose.scale == 1 and pose.tilt == 0 and pose.dx == 0 and pose.dy == 0:
        return planes
    coefficients = _affine(pose, size)
    half = (size[0] // 2, size[1] // 2)
    chroma = (*coefficients[:2], coefficients[2] / 2, *coefficients[3:5], coefficients[5] / 2)
    images = [p if isinstance(p, Image.Image) else Image.fromarray(p) for p in planes]
    luma = images[0].transform(size, Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
    return (luma, *(p.transform(half, Image.Transform.AFFINE, chroma, Image.Resampling.BILINEAR) for p in images[1:]))


def _affine(pose: _Pose, size: tuple[int, int]) -> tuple[float, ...]:
    """Pillow AFFINE coefficients (output pixel -> source pixel) for ``pose``, zoomed in just enough to cover."""
    centre = np.array(size, dtype=np.float64) / 2
    shift = np.array([pose.dx * size[0], pose.dy * size[1]])
    cos, sin = math.cos(pose.tilt), math.sin(pose.tilt)
    rotation = np.array([[cos, -sin], [sin, cos]])
    corners = (np.array([[0, 0], [size[0], 0], [0, size[1]], [size[0], size[1]]]) - centre - shift) / pose.scale
    reach = np.abs(corners @ rotation.T).max(axis=0) / centre
    # Zooming in about the centre until every corner samples inside the source: no black edges ever show.
    matrix = rotation / (pose.scale * max(1.0, float(reach.max())))
    offset = centre - matrix @ (centre + shift)
    return matrix[0, 0], matrix[0, 1], offset[0], matrix[1, 0], matrix[1, 1], offset[1]


# --- overlays ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Overlay:
    """A pre-rendered RGBA patch in yuv420p form, blended in place with integer arithmetic.

    ``weighted`` holds each plane's value times alpha and ``keep`` holds 255 - alpha, both uint16: one multiply,
    one add and one divide per pixel, and never above 255 * 255 + 127.
    """

    left: int
    top: int
    weighted: tuple[np.ndarray, np.ndarray, np.ndarray]
    keep: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def from_rgba(cls, patch: Image.Image, left: int, top: int, size: tuple[int, int]) -> _Overlay:
        """``patch`` placed at (``left``, ``top``) (even numbers), cropped to the frame and to even sides."""
        width = (min(patch.width, size[0] - left)) // 2 * 2
        height = (min(patch.height, size[1] - top)) // 2 * 2
        rgba = np.asarray(patch.crop((0, 0, width, height)).convert("RGBA"))
        alpha = rgba[..., 3].astype(np.uint16)
        alphas = (alpha, _to_u8(alpha.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))).astype(np.uint16))
        planes = _rgb_to_planes(rgba[..., :3])
        weighted = tuple(p.astype(np.uint16) * alphas[min(i, 1)] for i, p in enumerate(planes))
        return cls(left, top, weighted, tuple(255 - alphas[min(i, 1)] for i in range(3)))

    def apply(self, views: list[np.ndarray]) -> None:
        """Blend the patch into a frame's plane views, in place."""
        for index, (view, weighted, keep) in enumerate(zip(views, self.weighted, self.keep)):
            step = 1 if index == 0 else 2
            top, left = self.top // step, self.left // step
            region = view[top : top + keep.shape[0], left : left + keep.shape[1]]
            region[...] = (region * keep + weighted + 127) // 255


def _overlays(size: tuple[int, int], caption: str) -> list[_Overlay]:
    caption_band = _caption(caption, size)
    return [_watermark(size)] + ([caption_band] if caption_band is not None else [])


def _even(value: float) -> int:
    return int(value) // 2 * 2


@functools.lru_cache(maxsize=16)
def _watermark(size: tuple[int, int]) -> _Overlay:
    """The "SIMULATED" mark for the bottom-left corner (players put their own buttons and labels in the top
    corners, which would hide it): white on a translucent dark pill, rendered once."""
    # About 1/36 of the short side, legible down to small previews, yet never wider than half the frame.
    font = ImageFont.load_default(size=min(max(8, min(size) // 36), max(5, size[0] // 11)))
    left, top, right, bottom = font.getbbox("SIMULATED")
    pad = max(2, font.size // 3)
    patch = Image.new("RGBA", (_even(right - left + 2 * pad + 1), _even(bottom - top + 2 * pad + 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, patch.width - 1, patch.height - 1), radius=pad, fill=(0, 0, 0, 140))
    draw.text((pad - left, pad - top), "SIMULATED", font=font, fill=(255, 255, 255, 235))
    margin = _even(max(2, min(size) // 40))
    return _Overlay.from_rgba(patch, margin, max(0, _even(size[1] - patch.height - margin)), size)


@functools.lru_cache(maxsize=32)
def _caption(text: str, size: tuple[int, int]) -> _Overlay | None:
    """A translucent band near the bottom with ``text`` on at most two lines, or None when there is no text."""
    text = " ".join(text.split())
    if not text:
        return None
    font = ImageFont.load_default(size=max(8, min(size) // 24))
    lines = _wrap(text, font, size[0] * 0.9, max_lines=2)
    line_height = round(font.size * 1.3)
    band = Image.new("RGBA", (size[0], _even(line_height * len(lines) + font.size + 1)), (0, 0, 0, 150))
    draw = ImageDraw.Draw(band)
    for row, line in enumerate(lines):
        draw.text((size[0] / 2, font.size / 2 + row * line_height), line, font=font, fill="white", anchor="mt")
    top = max(0, _even(size[1] - band.height - size[1] // 9))  # clear of the SIMULATED mark below it
    return _Overlay.from_rgba(band, 0, top, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
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


# --- encoding ---------------------------------------------------------------------------------------------------


def _write(frames: Iterable[Planes], *, size: tuple[int, int], dest: Path, overlays: list[_Overlay]) -> Path:
    """Encode ``frames`` (made on a worker thread) with ``overlays`` on each, to ``dest``."""
    video_frames = (_video_frame(planes, size, overlays, index) for index, planes in enumerate(frames))
    return _encode(_prefetch(video_frames), size=size, dest=Path(dest))


def _video_frame(planes: Planes, size: tuple[int, int], overlays: list[_Overlay], index: int) -> av.VideoFrame:
    """A yuv420p frame holding ``planes`` with ``overlays`` blended on, stamped as frame ``index``."""
    frame = av.VideoFrame(size[0], size[1], "yuv420p")
    views = _plane_arrays(frame)
    for view, plane in zip(views, planes):
        view[...] = np.asarray(plane)
    for overlay in overlays:
        overlay.apply(views)
    frame.pts, frame.time_base = index, Fraction(1, FPS)
    return frame


def _h264_stream(container: av.container.OutputContainer, size: tuple[int, int]) -> av.VideoStream:
    """An H.264 yuv420p stream at :data:`FPS`, tagged BT.709 limited range (what the planes hold)."""
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": _CRF, "preset": _PRESET}
    codec = stream.codec_context
    codec.thread_count = _X264_THREADS
    codec.colorspace = codec.color_primaries = codec.color_trc = _BT709
    codec.color_range = _LIMITED_RANGE
    return stream


def _encode(frames: Iterable[av.VideoFrame], *, size: tuple[int, int], dest: Path) -> Path:
    """Encode ``frames`` to a hidden file beside ``dest``, then rename it: a half-written clip is never served."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".part.mp4", dir=dest.parent)
    os.close(handle)
    part = Path(name)
    try:
        with av.open(name, "w", format="mp4", container_options=_MUXER_OPTIONS) as container:
            stream = _h264_stream(container, size)
            for frame in frames:
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        os.chmod(part, 0o644)  # mkstemp makes it owner-only; a served clip should read like any other file
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dest


# --- running frame making beside the encoder -------------------------------------------------------------------

_DONE = object()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def _prefetch(items: Iterator[T], depth: int = 6) -> Iterator[T]:
    """``items`` made on a worker thread up to ``depth`` ahead; its errors are raised here, in order."""
    box: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(items, box, stop), name="render-frames", daemon=True)
    worker.start()
    try:
        while (item := box.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


def _produce(items: Iterator[T], box: queue.Queue, stop: threading.Event) -> None:
    """Feed ``items`` into ``box`` until they end, fail or the consumer stops listening."""
    try:
        for item in items:
            if not _put(box, item, stop):
                return
        _put(box, _DONE, stop)
    except Exception as error:
        _put(box, _Failure(error), stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # on this thread, which is the one running the generator


def _put(box: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` into ``box``, giving up (False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            box.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
