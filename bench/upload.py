"""Upload: a 150 MB 4K 20 s clip for aleph2 on the official provider, from the file on disk to the create request
sent, against the old path of shrinking it to fit a 16 MiB data URI. Both are measured in one run.

Usage, from the repository root::

    python bench/upload.py [--repeat 3] [--size-mb 150] [--seconds 20] [--keep-clip PATH] [--keep]

First, untimed, it writes the clip with PyAV: 3840x2160, 30 fps, H.264 (libx264 ultrafast, an average bitrate that
makes ``--size-mb`` MB over ``--seconds`` s) in MP4, of a scrolling gradient over a scrolling grain texture with
fresh noise in each frame (so motion compensation cannot make it small). ``--keep-clip PATH`` keeps it there and a
later run reuses it. Then it starts the standalone simulator (``python -m studio.simulator``) as a subprocess on a
free loopback port, so the upload really crosses a socket and the simulator's CPU is not counted as the studio's.

Each round runs three cases, interleaved; round 0 is an untimed warm-up, then ``--repeat`` timed rounds:

1. **upload (official)**: ``prepare_video`` with the official API's limits (``RUNWAY.limits``: uploads, a 5 MiB
   video data URI) and aleph2's rule for ``videoUri`` (in a worker thread, as ``Studio.prepare`` runs it); the
   request validated (``parse_request``, a placeholder for the upload); ``RunwayClient.upload`` (``POST
   /v1/uploads``, then the multipart POST of the file to the returned ``uploadUrl``); ``RunwayClient.create``
   (``POST /v1/video_to_video``, aleph2, ``videoUri`` = the ``runway://`` URI). The clip is sent as it is.
2. **studio path (official)**: the same through the whole job path, for an aleph2 Video to Video form: what
   ``Studio.submit`` does, in its halves so they are timed apart (``key_for``; ``Studio.prepare``, the form and
   ``prepare_video``; ``Studio.start``, which also copies the input into the data folder and writes the history
   row), then the job's upload and its create, on a ``Studio`` composed as ``studio.wiring.build_studio`` does for
   ``STUDIO_PROVIDER=runway`` with ``STUDIO_BASE_URL`` at the simulator. Its job is cancelled once created.
3. **shrink to 16 MiB data URI (old path)**: ``prepare_video`` with the proxy's limits (``OPENAI_HK.limits``: no
   uploads, a 16 MiB data URI) and the same aleph2 rule, so the whole clip is re-encoded down until its data URI
   fits (``prepare_video`` builds the data URI); the request validated; ``RunwayClient.create`` to the simulator's
   proxy dialect, ``POST /runwayml/v1/video_to_video``. That dialect serves no aleph2 and the official one takes no
   video data URI over 5 MiB, so this body names gen4_aleph with ratio 1280:720: the same data URI on the wire.

"create sent" is when the create POST is handed to the HTTP transport (a wrapper timestamps it, with this process's
CPU time then); "create answered" adds the simulator's checks (it reads the whole input: the 150 MB upload, or
the data URI) and its answer. CPU is this process's, all threads (``time.process_time``: prepare_video's worker
thread and x264's threads included); the simulator's own CPU, from ``/proc/<pid>/stat``, is printed apart. Every
prompt carries the simulator's moderation trigger, so it renders nothing: no 4K render competes with the next case.
Uploads the simulator kept and the studio's input copies are deleted after each round; everything at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import httpx
import numpy as np
from harness.machine import load, machine, proc_cpu_s
from harness.servers import Proc, clean_up, print_problems, start_simulator
from harness.stats import spread

from studio.capabilities import OPENAI_HK, RUNWAY, InputLimits, VideoInputRule
from studio.client import RunwayClient
from studio.forms import Form, MediaInput
from studio.media.videos import PreparedVideo, VideoInfo, prepare_video, probe_video
from studio.phases import Phase
from studio.requests import Request, parse_request
from studio.service import Studio
from studio.uris import UPLOAD_PLACEHOLDER

MB = 1_000_000
MIB = 1024 * 1024
SIZE = (3840, 2160)
FPS = 30  # aleph2 takes at most 30 fps: a faster clip would be re-encoded even on the upload path
KEY = "bench-not-a-real-key"  # the simulator takes any Bearer key
SEED = 20240601
# The simulator's moderation trigger (SimulatorConfig.moderation_trigger): the task is accepted, then fails as
# moderated without rendering anything, so no 4K render runs while the next case is timed.
PROMPT = "Turn the day into a snowy night (simulate moderation: the simulator renders nothing)"
FIELD = "Input video"
OLD_MODEL, OLD_RATIO = "gen4_aleph", "1280:720"  # what the proxy dialect serves on video_to_video
CASES = ("upload (official)", "studio path (official)", "shrink to 16 MiB data URI (old path)")


# --- the clip --------------------------------------------------------------------------------------------------------


def make_clip(dest: Path, *, size: tuple[int, int], seconds: float, target_bytes: int) -> None:
    """A ``seconds`` long H.264 MP4 of ``size`` at FPS, about ``target_bytes`` long (x264 ultrafast at the average
    bitrate that gives it). Frames are built as yuv420p planes: a grain texture and a luma gradient scrolling at
    different speeds, plus one of seven noise planes in turn (new detail in every frame), and a slow chroma drift."""
    width, height = size
    rng = np.random.default_rng(7)
    texture = (rng.integers(0, 64, (height + 256, width + 512), dtype=np.uint8) + 64).astype(np.uint8)
    gradient = np.linspace(0, 80, width + 512).astype(np.uint8)
    noises = [rng.integers(0, 17, (height, width), dtype=np.uint8) for _ in range(7)]
    chroma = (width // 2, height // 2)
    across = np.linspace(0, 1, chroma[0], dtype=np.float32)[None, :]
    down = np.linspace(0, 1, chroma[1], dtype=np.float32)[:, None]
    frames = round(seconds * FPS)
    plane = np.empty((height * 3 // 2, width), np.uint8)
    luma, u, v = plane[:height], plane[height : height * 5 // 4], plane[height * 5 // 4 :]
    with av.open(str(dest), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = int(target_bytes * 8 / seconds)
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            x, y, g = (index * 3) % 512, (index * 2) % 256, (index * 5) % 512
            np.add(texture[y : y + height, x : x + width], noises[index % 7], out=luma)
            luma += gradient[g : g + width]
            phase = index / max(1, frames - 1)
            u[:] = np.broadcast_to(96 + 64 * ((across + phase) % 1.0), chroma[::-1]).reshape(u.shape)
            v[:] = np.broadcast_to(96 + 64 * ((down + phase) % 1.0), chroma[::-1]).reshape(v.shape)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(plane, format="yuv420p")))
        container.mux(stream.encode(None))


def describe(info: VideoInfo) -> str:
    return (
        f"{info.width}x{info.height} {info.codec} {info.container}, {info.fps:g} fps, {info.duration_s:.2f} s, "
        f"{info.size_bytes:,} bytes ({info.size_bytes / MB:.1f} MB, {info.size_bytes / MIB:.1f} MiB)"
    )


# --- timestamping what the client sends -------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    body_bytes: int  # the Content-Length (a multipart upload is streamed, so its body is not at hand)
    at: float  # perf_counter when the request was handed to the transport
    cpu: float  # this process's CPU seconds (process_time) then
    answered: float = 0.0  # perf_counter when the response headers were in
    status: int = 0


class Stamped(httpx.AsyncBaseTransport):
    """The client's network transport, timestamping every request as the client hands it over and as it is
    answered. The client built with it is the one ``build_studio`` makes (``RunwayClient(provider=RUNWAY,
    base_url=STUDIO_BASE_URL)``), with this transport in place of httpx's default one."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[Sent] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        record = Sent(
            request.method,
            request.url.path,
            int(request.headers.get("content-length", "0")),
            time.perf_counter(),
            time.process_time(),
        )
        self.sent.append(record)
        response = await self.inner.handle_async_request(request)
        record.answered, record.status = time.perf_counter(), response.status_code
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def create(self) -> Sent:
        """The create POST of the run."""
        return next(s for s in self.sent if s.method == "POST" and s.path.endswith("/video_to_video"))

    def uploads(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and "/uploads" in s.path]


# --- one run of each case ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed run: wall and CPU seconds from the start to the create sent, and what came on the way."""

    wall: float
    cpu: float
    answered: float  # start -> create answered
    sim_cpu: float  # the simulator's CPU seconds, start -> create answered
    steps: dict[str, float]  # named intervals, seconds
    bytes_sent: dict[str, int]  # request bodies by what they were
    prepared: PreparedVideo | None = None


@dataclass
class Rig:
    clip: Path
    sim: Proc
    rule: VideoInputRule
    workdir: Path
    official: RunwayClient
    official_wire: Stamped
    proxy: RunwayClient
    proxy_wire: Stamped
    studio: Studio
    studio_wire: Stamped
    runs: dict[str, list[Run]] = field(default_factory=lambda: {case: [] for case in CASES})


class Timing:
    """A run's clocks from its start: the wall (perf_counter), this process's CPU and the simulator's CPU."""

    def __init__(self, sim: Proc) -> None:
        self.sim = sim
        self.t0, self.c0, self.s0 = time.perf_counter(), time.process_time(), proc_cpu_s(sim.pid)
        self.done = self.s1 = 0.0

    def answered(self) -> None:
        """The create was answered: when, and the simulator's CPU then."""
        self.done, self.s1 = time.perf_counter(), proc_cpu_s(self.sim.pid)

    def run(
        self, create: Sent, steps: dict[str, float], bytes_sent: dict[str, int], prepared: PreparedVideo | None = None
    ) -> Run:
        """The run, timed to ``create`` sent (and answered)."""
        return Run(
            wall=create.at - self.t0,
            cpu=create.cpu - self.c0,
            answered=self.done - self.t0,
            sim_cpu=self.s1 - self.s0,
            steps=steps,
            bytes_sent=bytes_sent,
            prepared=prepared,
        )


async def prepare_timed(rig: Rig, wire: Stamped, limits: InputLimits) -> tuple[Timing, PreparedVideo, float]:
    """A run on ``wire`` starts with ``prepare_video`` under ``limits`` and aleph2's rule, in a worker thread (as
    ``Studio.prepare`` runs it): the run's clocks, the prepared clip and when it was ready."""
    wire.sent.clear()
    timing = Timing(rig.sim)
    prepared = await asyncio.to_thread(
        prepare_video, rig.clip, field=FIELD, rule=rig.rule, limits=limits, workdir=rig.workdir
    )
    return timing, prepared, time.perf_counter()


async def create_and_cancel(
    client: RunwayClient, wire: Stamped, request: Request, timing: Timing, uploaded: dict[str, str] | None = None
) -> Sent:
    """Send the create, note when it was answered and cancel its task: the create POST as it was sent."""
    created = await client.create(request, key=KEY, uploaded=uploaded)
    timing.answered()
    await client.cancel_task(created.task_id, key=KEY)
    return wire.create()


async def upload_official(rig: Rig) -> Run:
    timing, prepared, t1 = await prepare_timed(rig, rig.official_wire, RUNWAY.limits)
    if prepared.upload is None:
        raise SystemExit("prepare_video under the official limits made the clip a data URI: --size-mb is too small")
    placeholder = UPLOAD_PLACEHOLDER + "video"  # as prepare_blocking leaves it for the job
    body = {"model": "aleph2", "videoUri": placeholder, "promptText": PROMPT, "seed": SEED}
    request = parse_request("video_to_video", body, provider=RUNWAY)
    uploaded = {placeholder: await rig.official.upload(prepared.upload, key=KEY)}
    t2 = time.perf_counter()
    create = await create_and_cancel(rig.official, rig.official_wire, request, timing, uploaded)
    announce, file = rig.official_wire.uploads()
    return timing.run(
        create,
        steps={
            "prepare_video": t1 - timing.t0,
            "upload (both steps)": t2 - t1,
            "  POST /v1/uploads, sent -> answered": announce.answered - announce.at,
            "  the file to the uploadUrl, sent -> answered (204)": file.answered - file.at,
            "upload done -> create sent (request validated before)": create.at - t2,
            "create sent -> answered (the simulator reads the upload)": create.answered - create.at,
        },
        bytes_sent={
            "POST /v1/uploads": announce.body_bytes,
            "the file, multipart, to the uploadUrl": file.body_bytes,
            "create body (videoUri: the runway:// URI)": create.body_bytes,
        },
        prepared=prepared,
    )


async def studio_official(rig: Rig) -> Run:
    """``Studio.submit`` in its two halves (``key_for``, then ``prepare`` and ``start``, which is all it does), to
    time them apart; then the job's upload and create, in the background as always."""
    rig.studio_wire.sent.clear()
    form = Form.of(
        "video_to_video", model="aleph2", video=MediaInput(path=str(rig.clip)), prompt_text=PROMPT, seed=SEED
    )
    timing = Timing(rig.sim)
    key, source = rig.studio.key_for("runway", KEY)
    prepared = await rig.studio.prepare(form, provider="runway")
    t1 = time.perf_counter()
    job = await rig.studio.start(prepared, visitor="bench:upload", key=key, key_source=source)
    del prepared
    async for status in job.follow():
        if status.task_id is not None or status.final:
            break
    timing.answered()
    if job.task_id is None:
        raise SystemExit(f"the studio's job ended {job.status.phase} before its task was created: {job.status.message}")
    await job.cancel()
    if job.status.phase is not Phase.CANCELLED:
        print(f"  (the studio's job ended {job.status.phase}, not cancelled)")
    create = rig.studio_wire.create()
    uploads = rig.studio_wire.uploads()
    first = uploads[0].at if uploads else create.at
    return timing.run(
        create,
        steps={
            "Studio.prepare (prepare_blocking: the form, prepare_video)": t1 - timing.t0,
            "Studio.start (input copied, history row) -> upload started": first - t1,
            "upload started -> create sent": create.at - first,
            "create sent -> answered": create.answered - create.at,
        },
        bytes_sent={"create body": create.body_bytes} | {f"upload {i}": s.body_bytes for i, s in enumerate(uploads)},
    )


async def shrink_old(rig: Rig) -> Run:
    timing, prepared, t1 = await prepare_timed(rig, rig.proxy_wire, OPENAI_HK.limits)
    if prepared.data_uri is None:
        raise SystemExit("prepare_video under the proxy's limits gave no data URI")
    body = {"model": OLD_MODEL, "videoUri": prepared.data_uri, "promptText": PROMPT, "ratio": OLD_RATIO, "seed": SEED}
    request = parse_request("video_to_video", body, provider=OPENAI_HK)
    create = await create_and_cancel(rig.proxy, rig.proxy_wire, request, timing)
    return timing.run(
        create,
        steps={
            "prepare_video (re-encode until it fits, data URI built)": t1 - timing.t0,
            "request validated, JSON body -> create sent": create.at - t1,
            "create sent -> answered (the simulator decodes the data URI)": create.answered - create.at,
        },
        bytes_sent={"create body (carrying the data URI)": create.body_bytes},
        prepared=prepared,
    )


CASE_RUNS: dict[str, Callable[[Rig], Awaitable[Run]]] = {
    CASES[0]: upload_official,
    CASES[1]: studio_official,
    CASES[2]: shrink_old,
}


def tidy(rig: Rig, folder: Path) -> None:
    """Between rounds: the uploads the simulator kept, the studio's input copies, the re-encoded files."""
    for sub in (folder / "simulator" / "uploads", rig.studio.inputs, rig.workdir):
        if sub.is_dir():
            for path in sub.iterdir():
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


async def run_all(clip: Path, sim: Proc, folder: Path, repeat: int) -> Rig:
    official_wire, proxy_wire, studio_wire = Stamped(), Stamped(), Stamped()
    studio_client = RunwayClient(provider=RUNWAY, base_url=sim.url, transport=studio_wire)
    rig = Rig(
        clip=clip,
        sim=sim,
        rule=RUNWAY.model("aleph2", "video_to_video").video_inputs["videoUri"],  # type: ignore[union-attr]
        workdir=folder / "work",
        official=RunwayClient(provider=RUNWAY, base_url=sim.url, transport=official_wire),
        official_wire=official_wire,
        proxy=RunwayClient(provider=OPENAI_HK, base_url=sim.url + "/runwayml", transport=proxy_wire),
        proxy_wire=proxy_wire,
        studio=Studio(
            clients={"runway": studio_client}, server_provider="runway", server_key="", data_dir=folder / "data"
        ),
        studio_wire=studio_wire,
    )
    try:
        for index in range(repeat + 1):
            label = "warm-up (not counted)" if index == 0 else f"round {index}/{repeat}"
            parts = []
            for case, run_case in CASE_RUNS.items():
                run = await run_case(rig)
                if index:
                    rig.runs[case].append(run)
                parts.append(f"{case.split(' (')[0]} {run.wall:.2f} s (cpu {run.cpu:.2f})")
            tidy(rig, folder)
            print(f"  {label}: " + ", ".join(parts), flush=True)
    finally:
        await rig.official.aclose()
        await rig.proxy.aclose()
        await rig.studio.aclose()
    return rig


# --- the report -------------------------------------------------------------------------------------------------------


def row(label: str, values: list[float], width: int = 64) -> str:
    median, low, high, n = spread(values)
    return f"{label:<{width}}{median:>9.2f}{low:>8.2f}{high:>8.2f}{n:>4}"


def report(rig: Rig) -> None:
    print(f"\n{'seconds (start -> create sent unless said)':<64}{'median':>9}{'min':>8}{'max':>8}{'n':>4}")
    for case in CASES:
        runs = rig.runs[case]
        print(row(f"{case}: wall", [r.wall for r in runs]))
        print(row("  CPU, this process (all threads)", [r.cpu for r in runs]))
        for step in runs[0].steps:
            print(row(f"  {step}", [r.steps[step] for r in runs]))
        print(row("  start -> create answered (wall)", [r.answered for r in runs]))
        print(row("  the simulator's CPU, start -> create answered", [r.sim_cpu for r in runs]))

    new, old = rig.runs[CASES[0]], rig.runs[CASES[2]]
    whole = rig.runs[CASES[1]]

    def med(runs: list[Run], what: str) -> float:
        return statistics.median(getattr(r, what) for r in runs)

    print(
        f"\nratio old/new (medians, to create sent): wall {med(old, 'wall') / med(new, 'wall'):.1f}x, "
        f"CPU {med(old, 'cpu') / med(new, 'cpu'):.1f}x   "
        f"(against the whole studio path: wall {med(old, 'wall') / med(whole, 'wall'):.1f}x, "
        f"CPU {med(old, 'cpu') / med(whole, 'cpu'):.1f}x)"
    )
    print(
        f"ratio old/new to create answered (wall): {med(old, 'answered') / med(new, 'answered'):.1f}x; "
        f"the simulator's CPU to create answered: {med(old, 'sim_cpu'):.2f} s old, {med(new, 'sim_cpu'):.2f} s new"
    )

    print(f"\n{'bytes sent (request bodies)':<64}{'bytes':>15}")
    for name, runs in (("official", new), ("old path", old)):
        for what, n in runs[-1].bytes_sent.items():
            print(f"{name + ': ' + what:<64}{n:>15,}")
        total = sum(runs[-1].bytes_sent.values())
        print(f"{'  total':<64}{total:>15,}  ({total / MB:.1f} MB)")
    file_s = statistics.median(r.steps["  the file to the uploadUrl, sent -> answered (204)"] for r in new)
    file_bytes = new[-1].bytes_sent["the file, multipart, to the uploadUrl"]
    print(
        f"the file's POST over loopback: {file_bytes / MB / file_s:.0f} MB/s (median); at 100 Mbit/s it would take "
        f"{file_bytes * 8 / 100e6:.0f} s, at 1 Gbit/s {file_bytes * 8 / 1e9:.1f} s (not timed: this is loopback)"
    )

    sent, shrunk = new[-1].prepared, old[-1].prepared
    assert sent is not None and shrunk is not None
    how = "uploaded as it is" if sent.upload is not None and not sent.reencoded else "NOT sent as it is"
    print(f"\nofficial path: {how} (reencoded={sent.reencoded}): {describe(sent.info)}")
    print(
        f"old path: shrunk (reencoded={shrunk.reencoded}) to {describe(shrunk.info)}; its data URI "
        f"{len(shrunk.data_uri or ''):,} characters ({len(shrunk.data_uri or '') / MIB:.2f} MiB of the "
        f"{OPENAI_HK.limits.video_data_uri_bytes / MIB:.0f} MiB cap; the official API's cap is "
        f"{RUNWAY.limits.video_data_uri_bytes / MIB:.0f} MiB); "
        f"{shrunk.info.width * shrunk.info.height / (sent.info.width * sent.info.height):.0%} of the pixels, "
        f"{shrunk.info.size_bytes / sent.info.size_bytes:.1%} of the bytes"
    )
    print(
        f"old path's create: {OLD_MODEL} (ratio {OLD_RATIO}) to /runwayml/v1/video_to_video, the simulator's proxy "
        "dialect (no aleph2 there; the official dialect refuses a video data URI over 5 MiB): the same data URI on "
        "the wire, timed to the POST handed to the transport"
    )


# --- main -------------------------------------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> str:
    keep = f" --keep-clip {args.keep_clip}" if args.keep_clip else ""
    return f"python bench/upload.py --repeat {args.repeat} --size-mb {args.size_mb:g} --seconds {args.seconds:g}{keep}"


def check_space(folder: Path, clip_bytes: int, need_clip: bool) -> None:
    """Refuse to start without room: the clip, and per round the simulator's copy of each upload, its multipart
    spool and the temporary copy its create check reads, and the studio's copy of the input."""
    free = shutil.disk_usage(folder).free
    need = clip_bytes * (5 + (1 if need_clip else 0)) + 512 * MB
    print(f"disk: {free / 1e9:.1f} GB free in {folder}; this run needs at most about {need / 1e9:.1f} GB at once")
    if free < need:
        raise SystemExit(f"not enough free space in {folder}: {free / 1e9:.1f} GB free, {need / 1e9:.1f} GB needed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds after one warm-up (default 3)")
    parser.add_argument("--size-mb", type=float, default=150.0, help="the clip's size in MB of 10^6 bytes (150)")
    parser.add_argument("--seconds", type=float, default=20.0, help="the clip's length (default 20; aleph2: 2-30)")
    parser.add_argument("--keep-clip", type=Path, default=None, help="keep the clip here; reuse it if it exists")
    parser.add_argument("--keep", action="store_true", help="keep the simulator's log and data")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    print("upload: a 4K clip for aleph2 on the official provider, file on disk -> create sent, against shrinking it")
    print("to a 16 MiB data URI (the old path); one run, interleaved rounds")
    cpu = platform.processor() or platform.machine()
    print(
        f"machine: {machine('av', 'numpy', 'httpx', 'starlette', 'python-multipart', 'uvicorn')}, {cpu}, "
        f"FFmpeg {av.ffmpeg_version_info}"
    )
    print(f"load average before: {load()}   (a shared machine: other work slows every figure down)")
    print(f"command: {command(args)}   (from the repository root)")
    folder = Path(tempfile.mkdtemp(prefix="studio-bench-upload-"))
    sim: Proc | None = None
    try:
        clip = args.keep_clip or folder / "clip.mp4"
        target = int(args.size_mb * MB)
        check_space(folder, target, need_clip=not clip.exists())
        if clip.exists():
            print(f"clip: reused {clip}")
        else:
            clip.parent.mkdir(parents=True, exist_ok=True)
            made, made_cpu = time.perf_counter(), time.process_time()
            make_clip(clip, size=SIZE, seconds=args.seconds, target_bytes=target)
            print(
                f"clip: made in {time.perf_counter() - made:.1f} s ({time.process_time() - made_cpu:.1f} CPU s), "
                f"not timed: libx264 ultrafast, average bitrate {target * 8 / args.seconds / 1e6:.0f} Mbit/s"
            )
        info = probe_video(clip, field=FIELD)
        print(f"clip: {describe(info)}")
        if (info.width, info.height) != SIZE or abs(info.size_bytes - target) > 0.1 * target:
            print(f"  (not the {SIZE[0]}x{SIZE[1]} {args.size_mb:g} MB asked for: a reused clip of another run?)")
        sim = start_simulator(folder, pending=0.0, running=1.0)
        print(f"simulator: {sim.url} (python -m studio.simulator, pid {sim.pid}), pending 0 s, running 1 s")
        rig = asyncio.run(run_all(clip, sim, folder, repeat))
        report(rig)
        print_problems([sim])
    finally:
        if sim is not None:
            sim.stop()
        clean_up(folder, keep=args.keep)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
