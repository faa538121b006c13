"""Submit overhead: a 24-megapixel photo from upload to the create request sent, and the size of what is sent,
against sending the original file as a data URI.

Usage, from the repository root::

    python bench/submit_overhead.py [--repeat 5] [--orientation 3]

Makes a photo-like 6000x4000 JPEG in code (colour fields, shapes and grain, so it does not compress trivially;
quality 92, with an EXIF orientation tag, 3 = upside down by default, so the EXIF rotation is part of the work),
then, each ``--repeat`` times after one untimed warm-up:

1. ``studio.media.prepare_image(path, field="First frame", ratio="1280:720", fit="crop", limits=SIMULATOR.limits)``:
   check, decode (JPEG draft scaling), orient, crop, encode to a data URI that fits the 5 MiB limit;
2. ``studio.forms.prepare_blocking(Form.of("image_to_video", ...), provider=SIMULATOR, workdir=tmp)``: the whole form
   (cheap checks first, then the image, then the request validated against the capability table);
3. submit -> the create request leaving the client: ``Studio.prepare`` + ``Studio.start`` on an in-process
   simulator (``studio.simulator.app.create_app`` behind ``httpx.ASGITransport``, wrapped to timestamp the POST as
   it is handed to the transport and to record its body), as tests/test_history.py's ``Rig`` sets it up but on
   the real clock. Each run waits, untimed, for its job to end before the next (identical requests share one
   render, made in the warm-up), so no background work overlaps a timed run.

Payload: the request body as sent (the POST's bytes, and ``prepared.request.to_wire()`` as JSON) against the naive
body carrying the original file base64-encoded as a data URI, which the in-process simulator is also sent to show
the API's answer (it is over the 5 MiB data-URI limit). The visitor's upload itself (browser -> studio) is not
timed here: it is the file's size over their uplink, printed for two speeds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from harness.image_to_video import studio_form
from harness.images import photo_like_image
from harness.machine import load, machine
from harness.stats import spread, timed
from PIL import Image, features

from studio.capabilities import SIMULATOR
from studio.client import RunwayClient
from studio.forms import prepare_blocking
from studio.media import prepare_image
from studio.service import Studio
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig

SIZE = (6000, 4000)
QUALITY = 92
RATIO = "1280:720"
PROMPT = "A harbour at golden hour, the camera slowly pushes in"
ORIENTATION = 0x0112


def photo(path: Path, orientation: int) -> None:
    """A 6000x4000 photo-like JPEG: photo_like_image (harness.images) at 1500x1000, upscaled, with fresh full-size grain
    (an unblurred upscale alone would compress far better than a camera's picture)."""
    small = photo_like_image((SIZE[0] // 4, SIZE[1] // 4), seed=24)
    pixels = np.asarray(small.resize(SIZE, Image.Resampling.BICUBIC), dtype=np.int16)
    pixels += np.random.default_rng(24).integers(-8, 9, SIZE[::-1], dtype=np.int16)[..., None]
    np.clip(pixels, 0, 255, out=pixels)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.fromarray(pixels.astype(np.uint8)).save(path, "JPEG", quality=QUALITY, exif=exif)


class Stamped(httpx.AsyncBaseTransport):
    """The in-process simulator's transport, timestamping each create POST as the client hands it over."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.posts: list[tuple[float, int]] = []  # (perf_counter, body bytes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append((time.perf_counter(), len(request.content)))
        return await self.inner.handle_async_request(request)


@dataclass
class Submits:
    total: list[float] = field(default_factory=list)  # submit -> POST handed to the transport
    prepare: list[float] = field(default_factory=list)  # Studio.prepare
    start: list[float] = field(default_factory=list)  # Studio.start (history row, inputs kept)
    to_post: list[float] = field(default_factory=list)  # start returned -> POST
    body_bytes: int = 0
    naive_status: int = 0
    naive_answer: str = ""


async def submits(path: Path, repeat: int, folder: Path, naive_body: dict[str, Any]) -> Submits:
    simulator = create_app(SimulatorConfig(pending_s=0.0, running_s=0.2, output_dir=folder / "sim"))
    transport = Stamped(httpx.ASGITransport(app=simulator))
    client = RunwayClient(provider=SIMULATOR, base_url="http://sim", transport=transport)
    studio = Studio(clients={"simulator": client}, server_provider="simulator", server_key="", data_dir=folder / "data")
    form = studio_form(path, ratio=RATIO, prompt=PROMPT)
    out = Submits()
    try:
        for index in range(repeat + 1):  # the first is the warm-up: it also renders the clip every run shares
            t0 = time.perf_counter()
            prepared = await studio.prepare(form, provider="simulator")
            t1 = time.perf_counter()
            job = await studio.start(prepared, visitor="browser:bench", key="simulator", key_source="simulator")
            t2 = time.perf_counter()
            del prepared
            status = await job.wait_done()
            if status.phase != "succeeded":
                raise SystemExit(f"the in-process generation ended {status.phase}: {status.message}")
            posted, out.body_bytes = transport.posts[-1]
            if index:
                out.total.append(posted - t0)
                out.prepare.append(t1 - t0)
                out.start.append(t2 - t1)
                out.to_post.append(posted - t2)
        raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url="http://sim")
        async with raw:
            answer = await raw.post("/v1/image_to_video", json=naive_body, headers={"Authorization": "Bearer bench"})
        out.naive_status = answer.status_code
        out.naive_answer = " ".join(i.get("message", "") for i in answer.json().get("issues", [])) or answer.text[:200]
    finally:
        await studio.aclose()
    return out


def stats(values: list[float]) -> str:
    median, low, high, n = spread(values)
    return f"{median:>9.3f}{low:>8.3f}{high:>8.3f}{n:>4}"


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


def codecs() -> str:
    return f"libjpeg-turbo {features.version_feature('libjpeg_turbo')}, libwebp {features.version('webp')}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each step after a warm-up (default 5)")
    parser.add_argument("--orientation", type=int, default=3, choices=range(1, 9), help="EXIF orientation (default 3)")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    limits = SIMULATOR.limits
    print(
        "submit overhead: a 24-megapixel photo -> the create request sent, "
        "and its size against the original as a data URI"
    )
    print(f"machine: {machine('pillow', 'numpy', 'httpx', 'pydantic')}, {codecs()}")
    print(f"load average before: {load()}   (a shared machine: other work slows every figure down)")
    print(
        f"command: python bench/submit_overhead.py --repeat {repeat} --orientation {args.orientation}"
        "   (from the repository root)"
    )
    with tempfile.TemporaryDirectory(prefix="studio-bench-submit-") as tmp:
        folder = Path(tmp)
        path = folder / "photo.jpg"
        made = time.perf_counter()
        photo(path, args.orientation)
        size = path.stat().st_size
        print(
            f"photo: {SIZE[0]}x{SIZE[1]} JPEG q{QUALITY}, EXIF orientation {args.orientation}, {mib(size)} "
            f"(made in {time.perf_counter() - made:.1f} s, not timed); ratio {RATIO}, fit crop, gen4_turbo 5 s"
        )

        def image() -> Any:
            return prepare_image(path, field="First frame", ratio=RATIO, fit="crop", limits=limits)

        def form() -> Any:
            return prepare_blocking(studio_form(path, ratio=RATIO, prompt=PROMPT), provider=SIMULATOR, workdir=folder)

        image_wall, image_cpu, prepared_image = timed(image, repeat)
        form_wall, form_cpu, prepared = timed(form, repeat)
        body = prepared.request.to_wire()
        wire_json = len(json.dumps(body, separators=(",", ":")))
        naive_uri = f"data:image/jpeg;base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        naive_body = json.loads(json.dumps(body))
        naive_body["promptImage"][0]["uri"] = naive_uri
        naive_json = len(json.dumps(naive_body, separators=(",", ":")))
        in_process = asyncio.run(submits(path, repeat, folder, naive_body))

    print(f"\n{'seconds':<66}{'median':>9}{'min':>8}{'max':>8}{'n':>4}")
    print(f"{'prepare_image (check, decode, orient, crop, encode)':<66}{stats(image_wall)}")
    print(f"{'  its CPU time (all threads)':<66}{stats(image_cpu)}")
    print(f"{'prepare_blocking (the whole form)':<66}{stats(form_wall)}")
    print(f"{'  its CPU time (all threads)':<66}{stats(form_cpu)}")
    print(f"{'submit -> create POST sent (Studio.prepare + Studio.start)':<66}{stats(in_process.total)}")
    print(f"{'  Studio.prepare (in a worker thread)':<66}{stats(in_process.prepare)}")
    print(f"{'  Studio.start (inputs kept, history row, job started)':<66}{stats(in_process.start)}")
    print(f"{'  start returned -> POST handed to the transport':<66}{stats(in_process.to_post)}")

    limit = limits.image_data_uri_bytes
    print(f"\npayload{'':<59}{'bytes':>12}")
    print(
        f"{'the image sent: ' + prepared_image.mime + f' {prepared_image.width}x{prepared_image.height} data URI':<66}"
        f"{len(prepared_image.data_uri):>12,}"
    )
    print(f"{'the request body, to_wire() as JSON':<66}{wire_json:>12,}")
    print(f"{'the request body as sent (the POST)':<66}{in_process.body_bytes:>12,}")
    print(f"{'naive: the original file as a data URI':<66}{len(naive_uri):>12,}")
    print(f"{'naive: the request body carrying it':<66}{naive_json:>12,}")
    print(
        f"ratio naive body / body sent: {naive_json / in_process.body_bytes:.0f}x; the naive data URI is "
        f"{len(naive_uri) / limit:.2f}x the {mib(limit)} data-URI limit: the API refuses it "
        f"(the simulator answered {in_process.naive_status}: {in_process.naive_answer[:160]})"
    )
    share = statistics.median(in_process.prepare) / statistics.median(in_process.total)
    print(
        f"Studio.prepare (the image work) is {share:.0%} of submit -> POST (medians); CPU well under wall means "
        "the process waited for a core"
    )
    print(
        f"not timed: the visitor's upload of the {mib(size)} original to the studio, "
        f"{size * 8 / 10e6:.1f} s at 10 Mbit/s, {size * 8 / 50e6:.1f} s at 50 Mbit/s"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
