"""Videos built in code for the tests (no binary fixtures are committed)."""

from __future__ import annotations

import base64
from pathlib import Path

import av
import numpy as np


def write_video(
    path: Path,
    seconds: float,
    *,
    size: tuple[int, int] = (160, 120),
    fps: int = 24,
    noise: bool = False,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
) -> Path:
    """A clip of ``seconds`` at ``fps`` in the container ``path``'s suffix names (an .mp4 is MP4), H.264 unless
    ``codec`` says otherwise: a grey ramp, or (``noise``) random pixels. ``options`` go to the encoder; without them,
    noise is encoded losslessly, which makes a file of several megabytes from a few seconds of small frames (for
    inputs too big for a data URI)."""
    width, height = size
    rng = np.random.default_rng(7)
    if options is None:
        options = {"qp": "0", "preset": "ultrafast"} if noise else {}
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * fps)):
            if noise:
                pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            else:
                pixels = np.full((height, width, 3), index * 9 % 256, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def data_uri(path: Path) -> str:
    return "data:video/mp4;base64," + base64.b64encode(path.read_bytes()).decode()
