"""Cost estimates from the capability table: credits per second of output (or per output frame, for the upscaler),
1 credit = $0.01."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.capabilities import USD_PER_CREDIT, ModelSpec
from studio.i18n import Msg


@dataclass(frozen=True)
class Estimate:
    credits: int
    seconds: float
    third_party: bool = False  # the price comes from third-party pages only (aleph2): say so
    guess: bool = False  # no price is published at all (the frame-rate and sound passes): say so
    takes: int = 1  # how many clips of ``seconds`` the credits pay for

    @property
    def usd(self) -> float:
        return self.credits * USD_PER_CREDIT

    def times(self, takes: int) -> Estimate:
        """The cost of ``takes`` such clips."""
        return dataclasses.replace(self, credits=self.credits * takes, takes=self.takes * takes)

    def describe(self) -> Msg:
        """E.g. "about 50 credits, $0.50 for 5 s" (translatable), or "... for 3 takes of 5 s"."""
        key = (
            "page.estimate_guess"
            if self.guess
            else "page.estimate_third_party"
            if self.third_party
            else "page.estimate"
        )
        if self.takes > 1:
            key += "_takes"
        return Msg(key, credits=self.credits, usd=self.usd, seconds=self.seconds, takes=self.takes)


def credits_per_second(spec: ModelSpec, *, audio: bool | None = None) -> int:
    """The model's price per second; with sound (Veo's ``audio``, on unless turned off) where that costs more."""
    if spec.audio_credits_per_second is not None and audio is not False:
        return spec.audio_credits_per_second
    return spec.credits_per_second


ASSUMED_FPS = 24.0  # an input's frame rate before it is read (the rate of most generated clips)


def estimate(
    spec: ModelSpec,
    *,
    seconds: float,
    audio: bool | None = None,
    fps: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> Estimate:
    """The cost of ``seconds`` of output from ``spec`` (billed per started second, never under its minimum).

    A model priced per frame (``credits_per_frame``) costs its output's frames at the ``resolution`` in ``options``
    (wire names): the input's frames (``fps``, else ASSUMED_FPS), twice as many with ``fpsBoost``. ``numVariants``
    variants cost that many times one."""
    options = options or {}
    if spec.credits_per_frame:
        credits = _per_frame(spec, seconds=seconds, fps=fps, options=options)
    else:
        billed = math.ceil(seconds - 1e-9) if seconds > 0 else 0
        credits = max(billed * credits_per_second(spec, audio=audio), spec.minimum_credits if billed else 0)
    credits *= int(options.get("numVariants") or 1)
    return Estimate(
        credits=credits, seconds=round(seconds, 2), third_party=spec.price_is_estimate, guess=spec.price_is_guess
    )


def _per_frame(spec: ModelSpec, *, seconds: float, fps: float | None, options: Mapping[str, Any]) -> int:
    rule = spec.option_rules.get("resolution")
    resolution = str(options.get("resolution") or (rule.default if rule else "") or max(spec.credits_per_frame))
    frames = output_frames(seconds, fps=fps, boost=bool(options.get("fpsBoost")))
    return math.ceil(frames * spec.credits_per_frame.get(resolution, max(spec.credits_per_frame.values())) - 1e-9)


def output_frames(seconds: float, *, fps: float | None, boost: bool = False) -> int:
    """How many frames ``seconds`` of input at ``fps`` make, twice as many when the frame rate is boosted."""
    return round(seconds * (fps or ASSUMED_FPS)) * (2 if boost else 1)


def output_seconds(spec: ModelSpec, *, duration: int | None = None, input_seconds: float | None = None) -> float | None:
    """How long the output will be: the chosen duration, or the part of the input video that is used.

    None when it depends on a video not given yet (act_two and aleph2 follow their input's length).
    """
    if spec.durations:
        return float(duration or spec.default_duration or min(spec.durations))
    rule = spec.video_inputs.get("videoUri")
    if rule and rule.use_first_seconds:  # at most this much of the input is used
        return min(input_seconds, rule.use_first_seconds) if input_seconds is not None else rule.use_first_seconds
    return input_seconds
