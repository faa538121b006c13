"""The one request the studio benches send on Image to Video: the bundled image, 960:960, 5 s and a FIXED seed.
Identical requests share one render in the simulator, so a bench measures the studio, not the renderer (100
distinct clips on 2 cores would take minutes of x264 alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def studio_form(image: Path = IMAGE, *, ratio: str = RATIO, prompt: str = PROMPT) -> Any:
    """The request as the studio's own form (``studio.forms.Form``): gen4_turbo, 5 s, the fixed seed, from ``image``
    at ``ratio``. The studio is imported here, not above, so the benches that only drive the page never load it."""
    from studio.forms import Form, MediaInput

    return Form.of(
        "image_to_video",
        model="gen4_turbo",
        ratio=ratio,
        first=MediaInput(path=str(image)),
        prompt_text=prompt,
        duration=int(DURATION),
        seed=SEED,
    )
