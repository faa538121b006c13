"""The finishing passes, rendered for real from the input clip: an upscale, a new frame rate, a soundtrack.

* ``render_upscale``: the whole input scaled so its short side is the resolution's lines (the aspect kept, even
  sides; :func:`studio.capabilities.upscaled_size`), at the input's frame rate, or twice it with ``fps_boost``.
* ``render_frame_rate``: the whole input retimed to another rate. A frame between two input frames is the blend
  of the two, weighted by how near each is (a cross-fade: no motion estimation, but every output frame is new).
* ``render_sound``: an audio file of the requested length and format (WAV, FLAC or MP3): the simulator's soft
  chord (:mod:`.audio`) chosen by the seed and the prompt together.

Clips carry the "SIMULATED" mark like every simulator clip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream

from studio.capabilities import upscaled_size
from studio.simulator.render.audio import SAMPLE_RATE, AudioSpec, soundtrack
from studio.simulator.render.encoder import write
from studio.simulator.render.footage import open_video, video_seconds, video_size
from studio.simulator.render.frames import ArrayPlanes, fitted, overlays, to_u8, triple

# The encoder and container each format is written with (FFmpeg's names).
AUDIO_CODECS = {"wav": ("pcm_s16le", "wav"), "flac": ("flac", "flac"), "mp3": ("libmp3lame", "mp3")}
DEFAULT_AUDIO_FORMAT = "mp3"  # what the simulator sends when ``format`` is left out (the API does not say)
_MIN_BLEND = 1e-3  # an output frame this close to an input frame is that frame, not a blend


def input_rate(video: Path) -> Fraction:
    """``video``'s frame rate: its average rate, else its stream's guess, else 24."""
    container, stream = open_video(video)
    with container:
        rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else Fraction(24)


def render_upscale(*, video: Path, resolution: str, fps_boost: bool, dest: Path) -> Path:
    """``video`` upscaled to ``resolution`` ("720p", "1k", "2k", "4k"), at twice its frame rate with ``fps_boost``."""
    size = upscaled_size(video_size(video), resolution)
    rate = input_rate(video) * (2 if fps_boost else 1)
    return _retime(video, rate=rate, size=size, dest=dest)


def render_frame_rate(*, video: Path, rate: Fraction, dest: Path) -> Path:
    """``video`` at ``rate`` frames per second, its size and length kept."""
    return _retime(video, rate=rate, size=_even(video_size(video)), dest=dest)


def _retime(video: Path, *, rate: Fraction, size: tuple[int, int], dest: Path) -> Path:
    count = max(1, round(video_seconds(video) * rate))
    frames = retimed(video, rate=rate, count=count, size=size)
    return write(frames, size=size, dest=dest, overlays=overlays(size, ""), rate=rate)


def retimed(video: Path, *, rate: Fraction, count: int, size: tuple[int, int]) -> Iterator[ArrayPlanes]:
    """``count`` frames of ``video`` at ``rate``, each covering ``size``: the input frame showing at each output
    frame's time blended with the next one, by how far that time is between the two."""
    container, stream = open_video(video)
    with container:
        decoded = container.decode(stream)
        first = next(decoded, None)
        if first is None:
            raise ValueError(f"{video.name} has no decodable video frames.")
        origin = first.time or 0.0
        shown: tuple[ArrayPlanes, float] = (_fit(first, size), 0.0)
        coming = _next_frame(decoded, origin, size)
        for index in range(count):
            time = float(index / rate)
            while coming is not None and coming[1] <= time + 1e-6:
                shown, coming = coming, _next_frame(decoded, origin, size)
            yield _between(shown, coming, time)


def _next_frame(
    decoded: Iterator[av.VideoFrame], origin: float, size: tuple[int, int]
) -> tuple[ArrayPlanes, float] | None:
    frame = next(decoded, None)
    return None if frame is None else (_fit(frame, size), (frame.time or 0.0) - origin)


def _fit(frame: av.VideoFrame, size: tuple[int, int]) -> ArrayPlanes:
    return tuple(np.array(plane) for plane in next(fitted([frame], size)))  # type: ignore[return-value]


def _between(shown: tuple[ArrayPlanes, float], coming: tuple[ArrayPlanes, float] | None, time: float) -> ArrayPlanes:
    planes, start = shown
    if coming is None or coming[1] <= start:
        return planes
    weight = (time - start) / (coming[1] - start)
    if weight < _MIN_BLEND:
        return planes
    return triple(
        to_u8(a.astype(np.float32) * (1 - weight) + b.astype(np.float32) * weight) for a, b in zip(planes, coming[0])
    )


def _even(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    return max(2, width // 2 * 2), max(2, height // 2 * 2)


def render_sound(*, seconds: float, seed: int, prompt: str, audio_format: str | None, dest: Path) -> Path:
    """An audio file ``seconds`` long in ``audio_format`` (wav, flac or mp3; mp3 when None) at ``dest``: the
    simulator's soundtrack, chosen by ``seed`` and ``prompt`` together (the same pair gives the same sound)."""
    codec, container_format = AUDIO_CODECS[audio_format or DEFAULT_AUDIO_FORMAT]
    mixed = int.from_bytes(hashlib.sha256(f"{seed}:{prompt}".encode()).digest()[:8], "big")
    samples = soundtrack(AudioSpec(seconds=seconds, seed=mixed))
    part = dest.with_name(f".{dest.name}.part")
    try:
        with av.open(str(part), "w", format=container_format) as out:
            stream = out.add_stream(codec, rate=SAMPLE_RATE)
            assert isinstance(stream, AudioStream)
            stream.layout = "stereo"
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, 0, Fraction(1, SAMPLE_RATE)
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dest
