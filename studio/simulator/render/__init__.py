"""Render the simulator's clips: real H.264 MP4s made from the real inputs.

Every clip is yuv420p H.264 in an MP4 whose ``moov`` atom comes first (``movflags=+faststart``), so a browser's
``<video>`` starts playing before the download ends. Clips run at :data:`FPS` frames per second with exactly
``round(seconds * FPS)`` frames, carry a small "SIMULATED" mark on every frame and are deterministic: the same
inputs and seed give the same bytes (with the same PyAV build).

* ``scenes``: the renders (image_to_video's camera move, text_to_video's title card, video_to_video's regrade
  and letterbox, the character performance).
* ``frames``: frames as BT.709 yuv420p planes; sizes, colour conversion, fitting, letterboxing, the mark and
  captions.
* ``title``: text_to_video's backdrop and the prompt's title layer.
* ``footage``: input videos, read through the studio's one video reader (:mod:`studio.media.videos`).
* ``audio``: the soundtrack a clip may carry: a seed's chord over soft noise, as stereo AAC-LC at 48 kHz.
* ``encoder``: the MP4 writer (H.264, and AAC when there is sound), fed by a frame-making worker thread.
"""

from studio.simulator.render.audio import AudioSpec
from studio.simulator.render.encoder import FPS
from studio.simulator.render.scenes import (
    render_character_performance,
    render_image_to_video,
    render_text_to_video,
    render_video_to_video,
)

__all__ = [
    "FPS",
    "AudioSpec",
    "render_character_performance",
    "render_image_to_video",
    "render_text_to_video",
    "render_video_to_video",
]
