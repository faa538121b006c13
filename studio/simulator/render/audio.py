"""The soundtrack a clip can carry: a soft chord chosen by the seed over gentle noise, as a stereo AAC-LC track.

The sound is made with numpy, a pure function of the seed and the length, and quantised to 16-bit steps before it
reaches the encoder (a last-bit difference in a sine from another numpy build then rarely changes a sample). The
same seed and length give the same bytes run after run; on another CPU FFmpeg may pick other SIMD code for the
encoder, so bytes are only promised for one machine and one PyAV build.
FFmpeg's built-in ``aac`` encoder writes it as AAC-LC, 48 kHz stereo at :data:`BIT_RATE`, which every browser
plays. The MP4 muxer records the encoder's priming samples in an edit list, so the track lasts exactly as many
samples as were made; the last AAC frame is padded, which is why a player may see up to one frame more.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet

SAMPLE_RATE = 48_000
BIT_RATE = 96_000
AAC_FRAME = 1024  # samples per AAC frame: how far a track's end may stray from the picture's

# Chord shapes in semitones above the root: major 7th, minor 7th, add 9, sus 4, minor add 9, 6/9.
_CHORDS = ((0, 4, 7, 11), (0, 3, 7, 10), (0, 4, 7, 14), (0, 5, 7, 12), (0, 3, 7, 14), (0, 4, 9, 14))
# Where the second and third chords of the progression sit relative to the first (IV, V, vi, ii, bVII).
_STEPS = (5, 7, -3, 2, -2)
_VOICE_GAIN = 0.07  # four voices with their swell peak near 0.3 (about -10 dBFS): soft, a bed under the picture
_NOISE_GAIN = 0.012
_CROSSFADE = 0.6  # seconds over which one chord gives way to the next


@dataclass(frozen=True)
class AudioSpec:
    """A soundtrack ``seconds`` long whose chords, panning and swell come from ``seed``."""

    seconds: float
    seed: int


def soundtrack(spec: AudioSpec) -> np.ndarray:
    """The samples of ``spec``: float32 of shape (2, round(seconds * 48000)), left and right, within -1..1."""
    rng = random.Random(spec.seed)
    count = max(1, round(spec.seconds * SAMPLE_RATE))
    time = np.arange(count, dtype=np.float32) / SAMPLE_RATE
    mix = np.zeros((2, count), np.float32)
    bar = rng.uniform(2.5, 4.0)
    for index, chord in enumerate(_progression(rng)):
        gain = _window(time, bar, index, 3) * _VOICE_GAIN
        for note in chord:
            voice = _voice(note, count, rng) * gain
            pan = rng.uniform(-0.6, 0.6)  # equal-power panning
            mix[0] += voice * math.cos((pan + 1) * math.pi / 4)
            mix[1] += voice * math.sin((pan + 1) * math.pi / 4)
    swell = 1 + 0.5 * _oscillator(1 / rng.uniform(5.0, 9.0), count, 0.0).imag
    mix += _noise(count, spec.seed) * (_NOISE_GAIN * swell)
    mix *= _fades(time, spec.seconds)
    return np.round(np.clip(mix, -1.0, 1.0) * 32767) / np.float32(32767)


def _progression(rng: random.Random) -> list[list[int]]:
    """Three chords as MIDI note numbers, root between A2 and G#3, each voiced within about an octave and a half."""
    root = rng.randrange(45, 57)
    steps = [0, *rng.sample(_STEPS, 2)]
    return [[root + step + interval for interval in rng.choice(_CHORDS)] for step in steps]


def _window(time: np.ndarray, bar: float, index: int, chords: int) -> np.ndarray:
    """How loud chord ``index`` of a looping progression is: on for its bar, crossfading with its neighbours."""
    position = (time / np.float32(bar)) % chords  # which bar of the loop, fractionally
    distance = np.abs(((position - (index + 0.5 - chords / 2)) % chords) - chords / 2)  # 0 at the bar's middle
    fade = _CROSSFADE / bar  # in bars
    edge = np.clip((0.5 + fade / 2 - distance) / fade, 0.0, 1.0)
    return np.sin(edge * np.float32(math.pi / 2)) ** 2


def _voice(note: int, count: int, rng: random.Random) -> np.ndarray:
    """One note: a sine with a touch of second harmonic, swelling slowly at its own pace."""
    wave = _oscillator(440.0 * 2 ** ((note - 69) / 12), count, rng.uniform(0, 2 * math.pi))
    swell = _oscillator(rng.uniform(0.1, 0.3), count, rng.uniform(0, 2 * math.pi))
    return (wave.imag + 0.15 * (wave * wave).imag) * (1 + 0.25 * swell.imag)


def _oscillator(frequency: float, count: int, phase: float, block: int = 1024) -> np.ndarray:
    """exp(i(2 pi ``frequency`` t + ``phase``)) at each sample, complex64: its imaginary part is the sine.

    Made as the outer product of one block's rotations and each block's starting rotation, both computed directly
    (no running sum, so no drift): a complex multiply per sample is several times cheaper than a sine.
    """
    step = 2 * math.pi * frequency / SAMPLE_RATE
    inner = np.exp(1j * step * np.arange(block)).astype(np.complex64)
    outer = np.exp(1j * (phase + step * block * np.arange(-(-count // block)))).astype(np.complex64)
    return (outer[:, None] * inner[None, :]).reshape(-1)[:count]


def _noise(count: int, seed: int) -> np.ndarray:
    """Soft noise, (2, count): white noise from numpy's PCG64 (the same on every platform), gently low-passed."""
    white = np.random.default_rng(seed % 2**64).standard_normal((2, count + 16), np.float32)
    summed = np.cumsum(white, axis=1, dtype=np.float64)
    return ((summed[:, 16:] - summed[:, :-16]) / 4).astype(np.float32)  # a 16-sample moving average: about 3 kHz


def _fades(time: np.ndarray, seconds: float) -> np.ndarray:
    """Fade in and out (a click at either end sounds like a fault), each at most a quarter of the clip."""
    fade_in, fade_out = (max(min(most, seconds / 4), 1 / SAMPLE_RATE) for most in (0.3, 0.8))
    rise = np.clip(time / np.float32(fade_in), 0.0, 1.0)
    fall = np.clip((np.float32(seconds) - time) / np.float32(fade_out), 0.0, 1.0)
    return (np.sin(rise * np.float32(math.pi / 2)) * np.sin(fall * np.float32(math.pi / 2))) ** 2


class AacTrack:
    """``samples`` (float32, one row per channel of ``layout``, at :data:`SAMPLE_RATE`) as an AAC-LC stream of
    ``container``, encoded a stretch at a time so that the muxer can interleave it with the picture (a browser then
    streams both from the start of the file)."""

    def __init__(self, container: OutputContainer, samples: np.ndarray, layout: str = "stereo") -> None:
        self._stream: AudioStream = container.add_stream("aac", rate=SAMPLE_RATE)
        self._stream.layout = layout
        self._stream.bit_rate = BIT_RATE
        self._layout = layout
        self._samples = samples
        self._done = 0

    def until(self, seconds: float) -> list[Packet]:
        """Encode the samples up to ``seconds`` not yet encoded; the packets the encoder has ready."""
        return self._encode_to(min(self._samples.shape[1], round(seconds * SAMPLE_RATE)))

    def finish(self) -> list[Packet]:
        """Encode whatever is left and flush the encoder."""
        return self._encode_to(self._samples.shape[1]) + self._stream.encode(None)

    def _encode_to(self, end: int) -> list[Packet]:
        if end <= self._done:
            return []
        chunk = np.ascontiguousarray(self._samples[:, self._done : end], dtype=np.float32)
        frame = AudioFrame.from_ndarray(chunk, format="fltp", layout=self._layout)
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, self._done, Fraction(1, SAMPLE_RATE)
        self._done = end
        return self._stream.encode(frame)
