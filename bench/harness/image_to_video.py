"""The one request the studio benches send on Image to Video: the bundled image, 960:960, 5 s and a FIXED seed.
Identical requests share one render in the simulator, so a bench measures the studio, not the renderer (100
distinct clips on 2 cores would take minutes of x264 alone)."""

from __future__ import annotations

from gradio_client import handle_file

from harness import ROOT
from harness.gradio_queue import Endpoint, describe

GENERATE_API = "/generate_image_to_video"
CANCEL_API = "/cancel_image_to_video"
IMAGE = ROOT / "assets" / "examples" / "paper_boats.png"
RATIO = "960:960"
DURATION = "5"
SEED = 20240601  # fixed: identical requests share one render
PROMPT = "Paper boats drift across a calm pond"


def generate_endpoint(url: str, *, seed: int = SEED) -> Endpoint:
    """The Generate button's request data with this request, found by the controls' labels, with ``seed``."""
    return describe(
        url,
        GENERATE_API,
        first_frame=handle_file(str(IMAGE)),
        prompt=PROMPT,
        ratio=RATIO,
        duration=DURATION,
        random_seed=False,
        seed=seed,
    )
