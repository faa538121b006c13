"""Storyboard export: a designer's shots, trimmed and joined by cuts or crossfades, as one browser-playable MP4.

``plan_issues`` checks a storyboard without rendering it (it probes each clip); ``stitch`` renders it. The output
is written the way the simulator's clips are (:mod:`studio.simulator.render.encoder`, whose settings it shares):
H.264 yuv420p at the encoder's preset and CRF, ``moov`` first, to a hidden file renamed into place.

* Size: the first shot's displayed size (rounded down to even numbers). Other shots are fitted to it: ``crop``
  scales to cover and centre-crops, ``pad`` scales to fit inside and adds black bars.
* Frame rate: the first shot's. Each output frame shows the source frame nearest its time (a slower clip repeats
  frames, a faster one drops them).
* Trims: a shot keeps its frames in ``[in_s, out_s)``. Shot lengths are turned into frame counts on a running
  total, so the export lasts the sum of the trimmed lengths (minus the crossfades) to within half a frame,
  however many shots it has.
* Crossfades: ``crossfade_frames = N`` on a shot overlaps its last N frames with the next shot's first N, blended
  linearly in the yuv420p planes; the sound crossfades over the same stretch.
* Sound: when any shot has an audio track, the export has one AAC track at 48 kHz (mono when the first shot with
  sound is mono, else stereo) lasting as long as the picture: each shot's sound trimmed with its picture, silence
  under shots without sound. Without any sound there is no audio track.

Frames are decoded, fitted and blended on a worker thread while the main thread encodes (as the simulator's
renderer does); only crossfade frames go through numpy arithmetic. The functions block: callers run them in a
worker thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np
from av.video.frame import VideoFrame

from studio.errors import FieldIssue, InvalidInput, MediaError
from studio.i18n import Msg
from studio.media.videos import output_rate, picture_stream, probe_video, upright
from studio.simulator.render.audio import SAMPLE_RATE, AacTrack
from studio.simulator.render.encoder import h264_stream, hidden_output, open_mp4, prefetch
from studio.simulator.render.footage import frames_at
from studio.simulator.render.frames import ArrayPlanes, even_size, fitted, plane_arrays

Fit = Literal["crop", "pad"]

STORYBOARD_FIELD = "Storyboard"  # the field an empty storyboard's issue names
_BLACK = (16, 128, 128)  # limited-range yuv420p black: Y, Cb, Cr
_TOLERANCE_S = 1e-3  # how far past a clip's end an out point may be and still mean "the end"


@dataclass(frozen=True)
class ShotCut:
    """One shot of the storyboard: a clip, the part of it kept, and how it gives way to the next shot."""

    path: Path  # an MP4 clip
    label: str  # how the visitor calls it, e.g. "Shot 2" (used in error messages)
    in_s: float = 0.0  # trim in point, seconds
    out_s: float | None = None  # trim out point; None = the clip's end
    crossfade_frames: int = 0  # into the next shot: 0 = a cut, N = a crossfade of N output frames; last shot: ignored


@dataclass(frozen=True)
class Stitched:
    """The exported video."""

    path: Path
    width: int
    height: int
    fps: Fraction
    duration_s: float
    has_audio: bool
    frames: int


# --- planning -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clip:
    """What the plan needs to know about a shot's file."""

    length_s: float
    size: tuple[int, int]  # as displayed
    rate: Fraction
    has_audio: bool


@dataclass(frozen=True)
class _Shot:
    """A shot placed on the output timeline."""

    index: int  # in the storyboard
    cut: ShotCut
    clip: _Clip
    in_s: float
    length_s: float  # trimmed
    start: int  # the output frame it starts on
    frames: int  # output frames it lasts
    fade_in: int  # of those, how many the previous shot's crossfade overlaps
    fade_out: int  # ... and how many the crossfade into the next shot overlaps


@dataclass(frozen=True)
class _Plan:
    shots: tuple[_Shot, ...]
    size: tuple[int, int]
    fps: Fraction
    frames: int
    has_audio: bool


def plan_issues(shots: Sequence[ShotCut]) -> list[FieldIssue]:
    """Every problem with ``shots``, found by probing the clips (nothing is decoded beyond a first frame, nothing
    encoded); empty when ``stitch`` can render them. Each issue's ``field`` is the shot's label and its ``path``
    is ``(index, attribute)``, e.g. ``(2, "out_s")``."""
    return _plan(shots)[0]


def expected_seconds(shots: Sequence[ShotCut]) -> float:
    """How long the export of ``shots`` lasts: the sum of the trimmed lengths minus the crossfades' overlaps
    (the export itself is within half a frame of it). Raises ``InvalidInput`` as ``stitch`` would."""
    plan = _checked_plan(shots)
    overlaps = sum(shot.fade_out for shot in plan.shots)
    return sum(shot.length_s for shot in plan.shots) - overlaps / float(plan.fps)


def _checked_plan(shots: Sequence[ShotCut]) -> _Plan:
    issues, plan = _plan(shots)
    if issues or plan is None:
        raise InvalidInput(issues)
    return plan


def _plan(cuts: Sequence[ShotCut]) -> tuple[list[FieldIssue], _Plan | None]:
    """The issues with ``cuts`` and, when there are none, where each shot sits on the output timeline."""
    if not cuts:
        return [FieldIssue(STORYBOARD_FIELD, Msg("stitch.no_shots"))], None
    issues: list[FieldIssue] = []
    clips = [_probe(cut, index, issues) for index, cut in enumerate(cuts)]
    trims = [_trim(cut, clip, index, issues) if clip else None for index, (cut, clip) in enumerate(zip(cuts, clips))]
    first = clips[0]
    if first is None:
        return _by_shot(issues), None
    fps = first.rate
    counts = _frame_counts([None if trim is None else trim[1] for trim in trims], fps)
    for index, (cut, trim) in enumerate(zip(cuts, trims)):
        if trim is not None and counts[index] == 0:
            issues.append(
                _issue(cut, index, "out_s", "stitch.too_short", in_s=trim[0], out_s=sum(trim), frame=float(1 / fps))
            )
    fades = _fades(cuts, counts, issues)
    if issues or None in clips or None in trims:
        return _by_shot(issues), None
    shots, start = [], 0
    for index, (cut, clip, trim) in enumerate(zip(cuts, clips, trims)):
        assert clip is not None and trim is not None
        fade_in, fade_out = fades[index - 1] if index else 0, fades[index]
        shots.append(_Shot(index, cut, clip, trim[0], trim[1], start, counts[index], fade_in, fade_out))
        start += counts[index] - fade_out
    size = even_size(first.size)
    has_audio = any(clip.has_audio for clip in clips if clip is not None)
    return [], _Plan(tuple(shots), size, fps, start, has_audio)


def _by_shot(issues: list[FieldIssue]) -> list[FieldIssue]:
    """``issues`` in storyboard order (each shot's in the order they were found)."""
    return sorted(issues, key=lambda issue: int(issue.path[0]) if issue.path else -1)


def _issue(cut: ShotCut, index: int, attribute: str, key: str, **params: object) -> FieldIssue:
    return FieldIssue(cut.label, Msg(key, shot=cut.label, **params), path=(index, attribute))


def _probe(cut: ShotCut, index: int, issues: list[FieldIssue]) -> _Clip | None:
    """What ``cut``'s clip holds, or None with its issue added (missing, unreadable, not a video)."""
    if not Path(cut.path).is_file():
        issues.append(_issue(cut, index, "path", "stitch.clip_missing"))
        return None
    try:
        info = probe_video(cut.path, field=cut.label)
        with av.open(os.fspath(cut.path)) as container:
            stream = picture_stream(container)
            assert stream is not None  # probe_video found one
            rate = output_rate(stream)
    except MediaError as error:
        issues.extend(FieldIssue(issue.field, issue.message, path=(index, "path")) for issue in error.issues)
        return None
    return _Clip(info.duration_s, (info.width, info.height), rate, info.has_audio)


def _trim(cut: ShotCut, clip: _Clip, index: int, issues: list[FieldIssue]) -> tuple[float, float] | None:
    """(in point, trimmed length) of ``cut``, or None with its issues added."""
    length = clip.length_s
    found = len(issues)
    if not 0 <= cut.in_s < length:
        issues.append(_issue(cut, index, "in_s", "stitch.in_outside", in_s=cut.in_s, length=round(length, 3)))
    if cut.out_s is not None and not 0 < cut.out_s <= length + _TOLERANCE_S:
        issues.append(_issue(cut, index, "out_s", "stitch.out_outside", out_s=cut.out_s, length=round(length, 3)))
    if cut.out_s is not None and cut.out_s <= cut.in_s:
        issues.append(_issue(cut, index, "out_s", "stitch.out_before_in", in_s=cut.in_s, out_s=cut.out_s))
    if len(issues) > found:
        return None
    out = length if cut.out_s is None else min(cut.out_s, length)
    return cut.in_s, out - cut.in_s


def _frame_counts(lengths: Sequence[float | None], fps: Fraction) -> list[int]:
    """Each shot's frames, from a running total of the lengths so the rounding never adds up; a shot whose
    length is unknown (None) counts as 0 and does not move the total."""
    counts, total = [], 0.0
    for length in lengths:
        if length is None:
            counts.append(0)
            continue
        before = round(total * fps)
        total += length
        counts.append(round(total * fps) - before)
    return counts


def _fades(cuts: Sequence[ShotCut], counts: Sequence[int], issues: list[FieldIssue]) -> list[int]:
    """The crossfade out of each shot in frames (the last shot's is 0), checked against the shots it joins."""
    fades = [cut.crossfade_frames for cut in cuts[:-1]] + [0]
    for index, (cut, frames) in enumerate(zip(cuts[:-1], fades)):
        after = cuts[index + 1]
        if frames < 0:
            issues.append(
                _issue(cut, index, "crossfade_frames", "stitch.crossfade_negative", next=after.label, frames=frames)
            )
            continue
        for shorter, has in ((cut, counts[index]), (after, counts[index + 1])):
            if has and frames > has:
                params = {"next": after.label, "frames": frames, "short": shorter.label, "has": has}
                issues.append(_issue(cut, index, "crossfade_frames", "stitch.crossfade_too_long", **params))
                break
    for index, cut in enumerate(cuts):
        fade_in, fade_out = (fades[index - 1] if index else 0), fades[index]
        has = counts[index]
        if has and 0 <= fade_in <= has and 0 <= fade_out <= has < fade_in + fade_out:
            issues.append(
                _issue(cut, index, "crossfade_frames", "stitch.crossfades_overlap", has=has, total=fade_in + fade_out)
            )
    return fades


# --- rendering ------------------------------------------------------------------------------------------------


def stitch(
    shots: Sequence[ShotCut],
    dest: Path,
    *,
    fit: Fit = "crop",
    on_progress: Callable[[float], None] | None = None,
) -> Stitched:
    """Render ``shots`` into one MP4 at ``dest`` (see the module's docstring); ``on_progress`` hears the fraction
    of frames written (reaching 1.0). Raises ``InvalidInput`` with ``plan_issues``' issues before writing
    anything, or naming the shot whose clip fails to decode part way (``dest`` is then left as it was)."""
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', not {fit!r}")
    plan = _checked_plan(shots)
    dest = Path(dest)
    sound = _soundtrack(plan) if plan.has_audio else None
    time_base = 1 / plan.fps
    with (
        hidden_output(dest) as part,
        open_mp4(part) as container,
        contextlib.closing(prefetch(_pictures(plan, fit))) as frames,
    ):
        stream = h264_stream(container, plan.size, plan.fps)
        track = AacTrack(container, sound[0], sound[1]) if sound is not None else None
        for index, frame in enumerate(frames):
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
            if track is not None:
                container.mux(track.until(float((index + 1) * time_base)))  # the sound to this frame's end
            if on_progress is not None:
                on_progress((index + 1) / plan.frames)
        container.mux(stream.encode(None))
        if track is not None:
            container.mux(track.finish())
    width, height = plan.size
    seconds = float(plan.frames * time_base)
    return Stitched(dest, width, height, plan.fps, seconds, plan.has_audio, plan.frames)


def _pictures(plan: _Plan, fit: Fit) -> Iterator[VideoFrame]:
    """Every output frame in order: each shot's frames, the crossfades blended."""
    tail: list[ArrayPlanes] = []  # the previous shot's last frames, for the crossfade into this one
    for shot in plan.shots:
        ending: list[ArrayPlanes] = []
        for index, planes in enumerate(_shot_planes(shot, plan, fit)):
            if index < shot.fade_in:
                yield _frame(_blend(tail[index], planes, (index + 1) / (shot.fade_in + 1)), plan.size)
            elif index >= shot.frames - shot.fade_out:
                ending.append(planes)
            else:
                yield _frame(planes, plan.size)
        tail = ending


def _shot_planes(shot: _Shot, plan: _Plan, fit: Fit) -> Iterator[ArrayPlanes]:
    """``shot.frames`` frames of the shot fitted to the plan's size: at each output frame's time, the source frame
    nearest to it (the one showing half a source frame later)."""
    half = 0.5 / float(shot.clip.rate)
    times = (shot.in_s + index / float(plan.fps) + half for index in range(shot.frames))
    try:
        pictures = (upright(frame) for frame in frames_at(Path(shot.cut.path), times))
        yield from (fitted(pictures, plan.size) if fit == "crop" else _padded(pictures, plan.size))
    except (ValueError, OSError, av.error.FFmpegError) as error:
        key = "stitch.clip_missing" if not Path(shot.cut.path).is_file() else "stitch.clip_damaged"
        raise InvalidInput(_issue(shot.cut, shot.index, "path", key)) from error


def _padded(frames: Iterable[VideoFrame], size: tuple[int, int]) -> Iterator[ArrayPlanes]:
    """Each frame scaled to fit inside ``size``, centred on black. A frame shown twice in a row is fitted once."""
    previous: VideoFrame | None = None
    planes: ArrayPlanes | None = None
    for frame in frames:
        if planes is None or frame is not previous:
            previous = frame
            planes = _pad_frame(frame, size)
        yield planes


def _pad_frame(frame: VideoFrame, size: tuple[int, int]) -> ArrayPlanes:
    scale = min(size[0] / frame.width, size[1] / frame.height)
    inner = [min(want, max(2, round(have * scale / 2) * 2)) for have, want in zip((frame.width, frame.height), size)]
    scaled = plane_arrays(frame.reformat(width=inner[0], height=inner[1], format="yuv420p"))
    left, top = ((outer - content) // 4 * 2 for outer, content in zip(size, inner))  # even, so chroma lines up
    canvas = []
    for index, (picture, shade) in enumerate(zip(scaled, _BLACK)):
        step = 1 if index == 0 else 2
        plane = np.full((size[1] // step, size[0] // step), shade, np.uint8)
        x, y = left // step, top // step
        plane[y : y + picture.shape[0], x : x + picture.shape[1]] = picture
        canvas.append(plane)
    return canvas[0], canvas[1], canvas[2]


def _blend(before: ArrayPlanes, after: ArrayPlanes, weight: float) -> ArrayPlanes:
    """``before`` and ``after`` mixed, ``weight`` of ``after`` (integer arithmetic in 1/256ths)."""
    share = np.uint16(round(weight * 256))
    keep = np.uint16(256) - share
    mixed = [(a.astype(np.uint16) * keep + b.astype(np.uint16) * share + 128) >> 8 for a, b in zip(before, after)]
    return mixed[0].astype(np.uint8), mixed[1].astype(np.uint8), mixed[2].astype(np.uint8)


def _frame(planes: ArrayPlanes, size: tuple[int, int]) -> VideoFrame:
    """A new yuv420p frame holding ``planes``."""
    frame = VideoFrame(size[0], size[1], "yuv420p")
    for view, plane in zip(plane_arrays(frame), planes):
        view[...] = plane
    return frame


# --- sound ----------------------------------------------------------------------------------------------------


def _soundtrack(plan: _Plan) -> tuple[np.ndarray, str]:
    """The export's whole sound, (channels, samples) float32 at 48 kHz, and its layout: each shot's sound placed
    under its frames, faded in and out over its crossfades, silence under shots without sound."""
    layout = next(_layout(shot) for shot in plan.shots if shot.clip.has_audio)
    channels = 1 if layout == "mono" else 2
    mix = np.zeros((channels, _sample(plan.frames, plan.fps)), np.float32)
    for shot in plan.shots:
        if not shot.clip.has_audio:
            continue
        start, end = _sample(shot.start, plan.fps), _sample(shot.start + shot.frames, plan.fps)
        rise = _sample(shot.start + shot.fade_in, plan.fps) - start
        fall = end - _sample(shot.start + shot.frames - shot.fade_out, plan.fps)
        samples = _shot_sound(shot, layout, end - start)
        if rise:
            samples[:, :rise] *= (np.arange(rise, dtype=np.float32) + 0.5) / rise
        if fall:
            samples[:, samples.shape[1] - fall :] *= 1 - (np.arange(fall, dtype=np.float32) + 0.5) / fall
        mix[:, start:end] += samples
    return mix, layout


def _sample(frame: int, fps: Fraction) -> int:
    """The audio sample at which output frame ``frame`` starts."""
    return round(frame * SAMPLE_RATE / fps)


def _layout(shot: _Shot) -> str:
    with av.open(os.fspath(shot.cut.path)) as container:
        return "mono" if container.streams.audio[0].layout.nb_channels == 1 else "stereo"


def _shot_sound(shot: _Shot, layout: str, count: int) -> np.ndarray:
    """``count`` samples of the shot's sound from its in point, in ``layout`` at 48 kHz (silence where the track
    has none)."""
    channels = 1 if layout == "mono" else 2
    out = np.zeros((channels, count), np.float32)
    try:
        with av.open(os.fspath(shot.cut.path)) as container:
            video = picture_stream(container)
            start, base = (video.start_time, video.time_base) if video is not None else (None, None)
            origin = float(start * base) if start is not None and base is not None else 0.0
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
            chunks: list[np.ndarray] = []
            first: float | None = None
            for frame in container.decode(stream):
                if first is None and frame.time is not None:
                    first = frame.time - origin
                chunks.extend(part.to_ndarray() for part in resampler.resample(frame))
            chunks.extend(part.to_ndarray() for part in resampler.resample(None))
    except (OSError, av.error.FFmpegError) as error:
        raise InvalidInput(_issue(shot.cut, shot.index, "path", "stitch.clip_damaged")) from error
    if not chunks:
        return out
    source = np.concatenate(chunks, axis=1)
    begin = round((shot.in_s - (first or 0.0)) * SAMPLE_RATE)  # where the in point falls in ``source``
    lo, hi = max(0, begin), min(source.shape[1], begin + count)
    if hi > lo:
        out[:, lo - begin : hi - begin] = source[:, lo:hi]
    return out
