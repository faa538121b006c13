"""The renders: image_to_video's camera move, text_to_video's title card, video_to_video's regrade (gen4_aleph's and
aleph2's), and the character performance.

Each render makes its frames as planes (:mod:`.frames`), from the real inputs (videos through :mod:`.footage`),
and hands them to the writer (:mod:`.encoder`), with a soundtrack (:mod:`.audio`) when one is asked for. Clips have
exactly ``round(seconds * FPS)`` frames and are deterministic: the same inputs and seed give the same bytes (with
the same PyAV build).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from studio.simulator.render.audio import AudioSpec
from studio.simulator.render.encoder import FPS, write
from studio.simulator.render.footage import frames_at, open_video, video_seconds, video_size
from studio.simulator.render.frames import (
    ArrayPlanes,
    ImagePlanes,
    Planes,
    capped_size,
    even_size,
    expanded,
    fitted,
    overlays,
    rgb,
    rgb_to_planes,
    still_planes,
    to_u8,
    triple,
)
from studio.simulator.render.title import Title, backdrops

# --- the renders ------------------------------------------------------------------------------------------------


def render_image_to_video(
    *,
    first: Image.Image,
    last: Image.Image | None,
    size: tuple[int, int],
    seconds: float,
    seed: int,
    dest: Path,
    caption: str = "",
    audio: bool = False,
) -> Path:
    """Render a slow camera move over ``first`` (crossfading to ``last`` over the second half) to ``dest``.

    The move is a Ken Burns zoom and pan whose direction and depth come from ``seed``. Images are fitted to
    cover ``size`` and centre-cropped. With ``audio`` the clip carries a soundtrack (:mod:`.audio`) chosen by
    ``seed``. Returns ``dest``.
    """
    size = even_size(size)
    count = _frame_count(seconds)
    camera = _Camera.from_seed(seed)
    frames = _camera_frames(first, last, camera, size, count)
    return write(frames, size=size, dest=dest, overlays=overlays(size, caption), audio=_sound(audio, count, seed))


def render_text_to_video(
    *, prompt: str, size: tuple[int, int], seconds: float, seed: int, dest: Path, audio: bool = False
) -> Path:
    """Render a moving title card of ``prompt`` to ``dest``.

    A soft abstract backdrop in colours chosen by ``seed`` drifts and shifts colour while the prompt, wrapped to
    at most four lines (an ellipsis ends a longer one), slowly grows and floats over it. With ``audio`` the clip
    carries a soundtrack chosen by ``seed``. Returns ``dest``.
    """
    size = even_size(size)
    count = _frame_count(seconds)
    first, last = backdrops(size, seed)
    frames: Iterator[Planes] = _camera_frames(first, last, _Camera.from_seed(seed), size, count)
    title = Title.of(prompt, size)
    if title is not None:
        drift = _Camera.title_drift(seed)
        progress = (index / max(count - 1, 1) for index in range(count))
        frames = (title.over(planes, drift.box(p, size)) for planes, p in zip(frames, progress))
    return write(frames, size=size, dest=dest, overlays=overlays(size, ""), audio=_sound(audio, count, seed))


def render_video_to_video(
    *,
    video: Path,
    reference: Image.Image | None = None,
    size: tuple[int, int] | None,
    max_seconds: float,
    seed: int,
    dest: Path,
    caption: str = "",
    keyframes: Sequence[tuple[Image.Image, float]] = (),
    target_aspect: tuple[int, int] | None = None,
) -> Path:
    """Render the first ``max_seconds`` of ``video`` regraded, captioned, to ``dest``.

    The regrade moves each frame's colours toward a target: the ``keyframes``' colours when there are any (each
    an image and a time in seconds on the input's timeline; the target moves from one to the next between their
    times, and holds the first before it and the last after), else ``reference``'s, else a tint chosen by
    ``seed``.

    Each frame covers ``size`` (centre crop); ``size=None`` keeps the input's resolution, scaled down to fit
    1080p (1920 on the long side, 1080 on the short). With ``target_aspect`` (width, height), say (21, 9), the
    whole input is letterboxed or pillarboxed into that aspect, the bars showing a blurred, darkened copy of the
    picture; without a ``size`` the output is then the input's resolution widened or heightened to that aspect,
    within 1080p. The clip lasts min(input duration, ``max_seconds``). Raises ValueError if ``video`` has no
    video stream.
    """
    count = _frame_count(min(video_seconds(video), max_seconds))
    size, content = _output_geometry(video_size(video), size, target_aspect)
    regrade = _Regrade(_grade_target(reference, keyframes, seed))
    sampled = fitted(frames_at(video, _times(count)), size, content)
    frames = (regrade(planes, time) for planes, time in zip(sampled, _times(count)))
    return write(frames, size=size, dest=dest, overlays=overlays(size, caption))


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
    size = even_size(size)
    count = _frame_count(video_seconds(reference))
    drive = _drive(*_motion_energy(reference), count)
    poses = _Performance.from_seed(seed, intensity / 3, body_control).poses(drive)
    frames = (_posed(planes, pose, size) for planes, pose in zip(_character_frames(character, size, count), poses))
    return write(frames, size=size, dest=dest, overlays=overlays(size, ""))


# --- timing ----------------------------------------------------------------------------------------------------


def _frame_count(seconds: float) -> int:
    """How many frames make ``seconds`` at :data:`FPS` (at least one)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"A clip must last more than 0 s, not {seconds}.")
    return max(1, round(seconds * FPS))


def _times(count: int) -> Iterator[float]:
    """The presentation time of each output frame, in seconds."""
    return (index / FPS for index in range(count))


def _sound(audio: bool, count: int, seed: int) -> AudioSpec | None:
    """The soundtrack for a clip of ``count`` frames, when ``audio`` is asked for: exactly as long as the frames."""
    return AudioSpec(seconds=count / FPS, seed=seed) if audio else None


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

    @classmethod
    def title_drift(cls, seed: int) -> _Camera:
        """A title's slow growth with a drift up or down (chosen by ``seed``): small, so the words stay readable."""
        return cls(zoom=(1.0, 1.06), pan=(0.0, random.Random(seed).choice((-0.8, 0.8))))

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
) -> Iterator[ImagePlanes]:
    """Each frame of the camera move, crossfading from ``first`` to ``last`` over the second half."""
    start = still_planes(first, size)
    end = still_planes(last, size) if last is not None else None
    for index in range(count):
        progress = index / max(count - 1, 1)
        source = start if end is None else _mix(start, end, _fade(progress))
        yield _view(source, camera.box(progress, size), size)


def _fade(progress: float) -> float:
    """How much of the last image shows: nothing in the first half, then a smoothstep to all of it."""
    u = min(max(2 * progress - 1, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def _mix(start: ImagePlanes, end: ImagePlanes, weight: float) -> ImagePlanes:
    # Blending the canvases before scaling is cheaper than scaling both and blending the results.
    if weight <= 0:
        return start
    if weight >= 1:
        return end
    return triple(Image.blend(a, b, weight) for a, b in zip(start, end))


def _view(planes: ImagePlanes, box: tuple[float, float, float, float], size: tuple[int, int]) -> ImagePlanes:
    """The ``box`` region of a canvas scaled to ``size``; chroma uses the same box at half scale."""
    half = (size[0] // 2, size[1] // 2)
    left, top, right, bottom = box
    half_box = (left / 2, top / 2, right / 2, bottom / 2)
    luma, cb, cr = planes
    return (
        luma.resize(size, Image.Resampling.BILINEAR, box=box),
        cb.resize(half, Image.Resampling.BILINEAR, box=half_box),
        cr.resize(half, Image.Resampling.BILINEAR, box=half_box),
    )


# --- video to video: the output's size ---------------------------------------------------------------------------


def _output_geometry(
    source: tuple[int, int], size: tuple[int, int] | None, aspect: tuple[int, int] | None
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The output size, and the size of the picture inside it (smaller than the output when it is letterboxed).

    Without ``aspect`` the picture covers the output. With it, the input is first boxed into ``aspect`` (bars on
    two sides) and that box covers the output, so the picture is the input scaled by the same factor, clipped to
    the output when ``size`` has another aspect.
    """
    if aspect is not None and min(aspect) <= 0:
        raise ValueError(f"A target aspect ratio needs two positive numbers, not {aspect[0]}:{aspect[1]}.")
    box = expanded(source, aspect) if aspect is not None else source
    output = even_size(size) if size is not None else capped_size(box)
    if aspect is None:
        return output, output
    scale = max(output[0] / box[0], output[1] / box[1])
    width, height = (min(side, round(have * scale) // 2 * 2) for side, have in zip(output, source))
    return output, (max(2, width), max(2, height))


# --- video to video: the regrade --------------------------------------------------------------------------------

Stats = tuple[np.ndarray, np.ndarray]  # per-plane mean and standard deviation, each of shape (3,)
Target = Callable[[Stats, float], Stats]  # the regrade's target, from a frame's statistics and its time


def _plane_stats(planes: Planes) -> Stats:
    # Every 4th pixel each way is plenty for a mean and a spread, at 1/16 of the cost.
    samples = [np.asarray(p)[::4, ::4].astype(np.float32) for p in planes]
    return np.array([s.mean() for s in samples]), np.array([s.std() for s in samples])


def _image_stats(image: Image.Image) -> Stats:
    """The colour statistics of ``image``, measured on a 128x128 reduction."""
    small = np.asarray(rgb(image).resize((128, 128), Image.Resampling.BOX))
    return _plane_stats(rgb_to_planes(small))


def _grade_target(reference: Image.Image | None, keyframes: Sequence[tuple[Image.Image, float]], seed: int) -> Target:
    """The keyframes' colours when there are keyframes, else the reference's, else a tint chosen by ``seed``."""
    if keyframes:
        return _keyframe_target(keyframes)
    if reference is not None:
        return _reference_target(reference)
    return _tint_target(seed)


def _reference_target(reference: Image.Image) -> Target:
    """A regrade target that is the reference image's own colour statistics."""
    target = _image_stats(reference)
    return lambda _source, _time: target


def _keyframe_target(keyframes: Sequence[tuple[Image.Image, float]]) -> Target:
    """A regrade target that moves, in time, from each keyframe's colour statistics to the next one's."""
    ordered = sorted(keyframes, key=lambda keyframe: keyframe[1])
    times = np.array([time for _image, time in ordered], np.float64)
    stats = [_image_stats(image) for image, _time in ordered]
    means, spreads = np.array([mean for mean, _ in stats]), np.array([spread for _, spread in stats])

    def target(_source: Stats, time: float) -> Stats:
        # np.interp holds the first value before the first time and the last after the last.
        return (
            np.array([np.interp(time, times, means[:, plane]) for plane in range(3)]),
            np.array([np.interp(time, times, spreads[:, plane]) for plane in range(3)]),
        )

    return target


def _tint_target(seed: int) -> Target:
    """A regrade target that shifts each frame's chroma by a hue and strength chosen from ``seed``."""
    rng = random.Random(seed)
    hue, strength = rng.uniform(0.0, 2 * math.pi), rng.uniform(14.0, 24.0)
    shift = np.array([rng.uniform(-6.0, 6.0), strength * math.cos(hue), strength * math.sin(hue)])
    return lambda source, _time: (source[0] + shift / _Regrade.strength, source[1])


class _Regrade:
    """Moves each frame's per-plane mean and spread toward a target, ``strength`` of the way.

    The transfer is linear per plane, so it is applied as one 256-entry lookup table per plane.
    """

    strength = 0.6

    def __init__(self, target: Target) -> None:
        self._target = target
        self._source: Stats | None = None

    def __call__(self, planes: Planes, time: float) -> ArrayPlanes:
        """``planes`` (the frame at ``time`` seconds) regraded."""
        stats = _plane_stats(planes)
        # Smoothed over frames: raw per-frame statistics make the grade flicker as things move.
        if self._source is not None:
            (old_mean, old_spread), (new_mean, new_spread) = self._source, stats
            stats = (0.8 * old_mean + 0.2 * new_mean, 0.8 * old_spread + 0.2 * new_spread)
        self._source = stats
        return triple(lut[np.asarray(p)] for lut, p in zip(self._luts(stats, time), planes))

    def _luts(self, source: Stats, time: float) -> list[np.ndarray]:
        (mean, spread), (target_mean, target_spread) = source, self._target(source, time)
        gain = np.clip(target_spread / np.maximum(spread, 1.0), 0.5, 2.0)
        levels = np.arange(256, dtype=np.float32)
        moved = [(levels - m) * g + t for m, g, t in zip(mean, gain, target_mean)]
        return [to_u8(levels + self.strength * (m - levels)) for m in moved]


# --- character performance --------------------------------------------------------------------------------------


def _motion_energy(video: Path) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's time and motion energy: mean absolute difference to the previous frame at 64x64 grey."""
    times, energy, previous = [], [], None
    container, stream = open_video(video)
    with container:
        for frame in container.decode(stream):
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
        p0, p1, p2, p3 = (rng.uniform(0.0, 2 * math.pi) for _ in range(4))
        return cls(phases=(p0, p1, p2, p3), tempo=rng.uniform(0.8, 1.4), amount=amount, sway=sway)

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
        planes = still_planes(character, size)
        return (planes for _ in range(count))
    loop = max(video_seconds(Path(character)), 1 / FPS)  # a one-frame clip may report no length at all
    times = ((index / FPS) % loop for index in range(count))
    return fitted(frames_at(Path(character), times), size)


def _posed(planes: Planes, pose: _Pose, size: tuple[int, int]) -> Planes:
    """``planes`` moved to ``pose``; the identity pose (a still reference) skips the resampling."""
    if pose.scale == 1 and pose.tilt == 0 and pose.dx == 0 and pose.dy == 0:
        return planes
    coefficients = _affine(pose, size)
    half = (size[0] // 2, size[1] // 2)
    chroma = (*coefficients[:2], coefficients[2] / 2, *coefficients[3:5], coefficients[5] / 2)
    luma, cb, cr = (p if isinstance(p, Image.Image) else Image.fromarray(p) for p in planes)
    return (
        luma.transform(size, Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR),
        cb.transform(half, Image.Transform.AFFINE, chroma, Image.Resampling.BILINEAR),
        cr.transform(half, Image.Transform.AFFINE, chroma, Image.Resampling.BILINEAR),
    )


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
