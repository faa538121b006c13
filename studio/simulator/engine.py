"""The simulator's task engine: tasks whose status is derived from an injectable clock.

A task is THROTTLED while over ``max_concurrent``, then PENDING for ``pending_s``, then RUNNING with progress
rising from 0 to 1 over ``running_s``, then SUCCEEDED once its clip is rendered (or FAILED). Nothing advances on
its own: every read asks the clock, so tests move time by moving a fake clock.

The clip is rendered in a worker thread as soon as the task is created, from the real inputs. The engine serves
both dialects (each task is made under one provider's table), keeps ephemeral uploads, and keeps an account: a
credit balance that goes down as tasks are charged.

Its disk is bounded like the real API's: a clip is removed once every link to it has expired (``output_ttl_s``
after its task ended) or its task was deleted (``DELETE``), and an upload once its URI has expired; ``sweep``
does it, at most once a minute of its clock, whenever a task is created or read.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import io
import math
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from studio.capabilities import Endpoint, ModelSpec, ProviderSpec, framerate_fps, ratio_size
from studio.errors import FieldIssue, InvalidInput
from studio.media import videos
from studio.pricing import estimate, output_seconds
from studio.requests import (
    LABELS,
    CharacterPerformanceRequest,
    ImageToVideoRequest,
    Request,
    TextToVideoRequest,
    VideoToAudioRequest,
    VideoToVideoRequest,
    VideoUpscaleRequest,
)
from studio.simulator.config import SimulatorConfig
from studio.simulator.faults import FAILURE_MESSAGES, Faults
from studio.simulator.inputs import InputUnavailable, decode_data_uri, load_uri
from studio.uris import RUNWAY_URI

MODERATION_CODE = "INPUT_PREPROCESSING.SAFETY.TEXT"
MODERATION_MESSAGE = FAILURE_MESSAGES[MODERATION_CODE]  # the proxy's own wording
SWEEP_EVERY_S = 60.0  # how often (by the engine's clock) expired clips and uploads are looked for


@dataclass
class SimTask:
    id: str
    model: str  # the request itself is not kept: its data URIs can be megabytes, for every task ever made
    endpoint: Endpoint
    provider: ProviderSpec  # whose rules it was made under (the dialect it was sent in)
    created_at: float
    created_iso: str
    start_at: float  # when it leaves THROTTLED
    authorization: str  # recorded so tests can prove each task carried its own visitor's key
    estimated_credits: int = 0  # sent as estimatedCost while live and as cost once charged, like the API
    charged_credits: int | None = None  # set once it succeeds: from the clip's real length
    fail_code: str | None = None  # the task fails with this code part-way through (moderation trigger, or a fault)
    audio: bool | None = None  # Veo's audio, which changes the price
    options: dict[str, Any] = field(default_factory=dict)  # what else sets the price (resolution, fpsBoost...)
    input_fps: float | None = None  # the input clip's frame rate, when it was read (the upscaler's price)
    variants: int = 1  # numVariants: as many outputs (the simulator makes one sound and links it that often)
    cancelled_at: float | None = None
    render: asyncio.Task[Path] | None = None
    finished_at: float | None = None  # clock time it was first seen SUCCEEDED/FAILED


@dataclass
class Counters:
    created: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)


@dataclass
class Upload:
    """An ephemeral upload: announced by ``POST /v1/uploads``, its file received by the upload target."""

    id: str
    filename: str
    signature: str
    expires_at: float
    path: Path | None = None  # set once the file has arrived


class TaskEngine:
    """Holds every task of one simulator; safe to use from one event loop."""

    def __init__(self, config: SimulatorConfig, *, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.faults = Faults()
        self.tasks: dict[str, SimTask] = {}
        self.counters = Counters()
        self._slots: list[float] = []  # heap of times a concurrency slot frees up
        self._render_gate = asyncio.Semaphore(config.render_workers)
        self._renders: dict[str, asyncio.Task[Path]] = {}  # identical requests share one clip
        self._lengths: dict[Path, float] = {}  # each clip's length, measured once when it is made
        self._outputs = config.output_dir or Path(tempfile.mkdtemp(prefix="studio-sim-"))
        self._outputs.mkdir(parents=True, exist_ok=True)
        self.uploads: dict[str, Upload] = {}
        self._forgotten_charges = 0  # what deleted tasks cost (the balance keeps it)
        self._swept_at = -math.inf

    # --- lifecycle -------------------------------------------------------------------------------------------

    def create(
        self,
        request: Request,
        *,
        provider: ProviderSpec,
        authorization: str,
        inputs: Mapping[str, videos.VideoInfo] | None = None,
    ) -> SimTask:
        """A new task for a validated ``request``; ``inputs``: its video inputs as read (``check_videos``)."""
        now = self.clock()
        self.sweep()
        clip = (inputs or {}).get("videoUri")
        task = SimTask(
            id=str(uuid.uuid4()),
            model=request.model,
            endpoint=request.endpoint,
            provider=provider,
            created_at=now,
            created_iso=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            start_at=max(self._take_slot(now), now + self.faults.throttled_s),
            authorization=authorization,
            estimated_credits=self._estimate(request, provider, clip),
            audio=getattr(request, "audio", None),
            options=_price_options(request),
            input_fps=clip.fps if clip is not None and clip.fps else None,
            variants=int(getattr(request, "num_variants", None) or 1),
            fail_code=MODERATION_CODE if self._is_moderated(request) else self.faults.fail_code,
        )
        if task.fail_code is None:
            task.render = self._render_once(request, provider)
        self.tasks[task.id] = task
        self.counters.created += 1
        self.counters.by_endpoint[request.endpoint] = self.counters.by_endpoint.get(request.endpoint, 0) + 1
        return task

    def _take_slot(self, now: float) -> float:
        if self.config.max_concurrent is None:
            return now
        busy_for = self.config.pending_s + self.config.running_s
        if len(self._slots) < self.config.max_concurrent:
            heapq.heappush(self._slots, now + busy_for)
            return now
        start = max(now, heapq.heappop(self._slots))
        heapq.heappush(self._slots, start + busy_for)
        return start

    @staticmethod
    def _estimate(request: Request, provider: ProviderSpec, clip: videos.VideoInfo | None = None) -> int:
        # Current API versions (and the official SDK's models, which need them to tell the statuses apart) carry
        # estimatedCost on live tasks and cost on finished ones.
        spec = provider.model(request.model, request.endpoint)
        if spec is None:
            return 0
        if isinstance(request, VideoToAudioRequest):
            seconds: float | None = request.duration  # the sound lasts as long as asked
        else:
            seconds = output_seconds(
                spec, duration=getattr(request, "duration", None), input_seconds=clip.duration_s if clip else None
            )
        if seconds is None:  # follows an input video not read yet (act_two, aleph2): estimate the longest allowed
            seconds = max((rule.max_seconds or 0.0 for rule in spec.video_inputs.values()), default=0.0)
        return estimate(
            spec,
            seconds=seconds,
            audio=getattr(request, "audio", None),
            fps=clip.fps if clip is not None and clip.fps else None,
            options=_price_options(request),
        ).credits

    def _is_moderated(self, request: Request) -> bool:
        prompt = getattr(request, "prompt_text", None) or ""
        trigger = self.config.moderation_trigger
        return bool(trigger) and trigger.lower() in prompt.lower()

    def cancel(self, task_id: str) -> bool:
        """DELETE: cancel a live task, forget a finished one. False when the id is unknown."""
        task = self.tasks.get(task_id)
        if task is None:
            return False
        if self.snapshot(task)["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            self._forgotten_charges += self._charged_so_far(task)  # forgotten, but still paid for
            del self.tasks[task_id]
            self._drop_clip(task)  # its output goes with it, unless a live link still leads to the same clip
        else:
            task.cancelled_at = self.clock()
        return True

    # --- what a GET sees ------------------------------------------------------------------------------------

    def snapshot(self, task: SimTask, *, output_url: Callable[[SimTask], str] | None = None) -> dict[str, Any]:
        """The task as the API returns it, at the clock's current time."""
        now = self.clock()
        base: dict[str, Any] = {"id": task.id, "createdAt": task.created_iso}
        live = base | {"estimatedCost": {"credits": task.estimated_credits}}
        charged = base | {"cost": {"credits": task.estimated_credits}}  # failed tasks are charged (runway-api.md)
        if task.cancelled_at is not None:
            return base | {"status": "CANCELLED", "cost": {"credits": 0}}
        if now < task.start_at:
            return live | {"status": "THROTTLED"}
        running_for = now - task.start_at - self.config.pending_s
        if running_for < 0:
            return live | {"status": "PENDING"}
        progress = min(1.0, running_for / self.config.running_s) if self.config.running_s > 0 else 1.0
        if task.fail_code and progress >= self.config.moderation_failure_at:
            failure = FAILURE_MESSAGES.get(task.fail_code, "The task failed.")
            return (
                self._finished(task, now)
                | charged
                | {"status": "FAILED", "failure": failure, "failureCode": task.fail_code}
            )
        render = task.render
        if progress < 1.0 or render is None or not render.done():
            return live | {"status": "RUNNING", "progress": round(min(progress, 0.99), 3)}
        if render.cancelled() or render.exception() is not None:
            return self._finished(task, now) | base | {"cost": {"credits": 0}} | self._render_failure(render)
        url = output_url(task) if output_url else str(render.result())
        cost = {"cost": {"credits": self._charge(task, render.result())}}
        return self._finished(task, now) | base | cost | {"status": "SUCCEEDED", "output": [url] * task.variants}

    def _charge(self, task: SimTask, clip: Path) -> int:
        """Credits for the clip as made: its length is known only now (act_two and aleph2 follow their input)."""
        if task.charged_credits is None:
            spec = task.provider.model(task.model, task.endpoint)
            seconds = self._lengths[clip]
            price = (
                estimate(spec, seconds=seconds, audio=task.audio, fps=task.input_fps, options=task.options)
                if spec
                else None
            )
            task.charged_credits = price.credits if price else 0
        return task.charged_credits

    # --- the account (GET /v1/organization) ------------------------------------------------------------------

    def organization(self, provider: ProviderSpec) -> dict[str, Any]:
        """The balance (what tasks have been charged comes off it) and each model's tier limits and use today."""
        charged = 0
        used: dict[str, int] = {}
        for task in list(self.tasks.values()):
            charged += self._charged_so_far(task)
            used[task.model] = used.get(task.model, 0) + 1
        limits = {"maxConcurrentGenerations": self.config.max_concurrent, "maxDailyGenerations": None}
        return {
            "creditBalance": max(0, self.config.starting_credits - charged - self._forgotten_charges),
            "tier": {
                "maxMonthlyCreditSpend": self.config.starting_credits,
                "models": dict.fromkeys(sorted(provider.model_names), limits),
            },
            "usage": {"models": {name: {"dailyGenerations": count} for name, count in sorted(used.items())}},
        }

    def _charged_so_far(self, task: SimTask) -> int:
        if task.charged_credits is not None:
            return task.charged_credits
        cost = self.snapshot(task).get("cost")
        return int(cost["credits"]) if isinstance(cost, dict) else 0

    # --- ephemeral uploads ----------------------------------------------------------------------------------

    def start_upload(self, filename: str) -> Upload:
        upload = Upload(
            id=uuid.uuid4().hex,
            filename=Path(filename).name or "upload",
            signature=uuid.uuid4().hex,
            expires_at=self.clock() + self.config.upload_ttl_s,
        )
        self.uploads[upload.id] = upload
        return upload

    def receive_upload(self, upload: Upload, data: BinaryIO) -> None:
        """Blocking: keep an upload's file (from the upload target's spooled copy)."""
        folder = self._outputs / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / upload.id
        with path.open("wb") as out:
            shutil.copyfileobj(data, out)
        upload.path = path

    # --- what upstream refuses once it reads the inputs ----------------------------------------------------------

    def check_videos(self, request: Request, provider: ProviderSpec) -> dict[str, videos.VideoInfo]:
        """Blocking: refuse, as upstream does, a video input whose length or frame rate its model does not take
        (act_two's reference outside 3-30 s, aleph2's input outside 2-30 s or over 30 fps, an upscale over 30 s).
        Only inputs the simulator holds (data URIs and uploads) are read here; a link is read when the clip is
        rendered. Returns what was read, by wire field (the estimate of a finishing pass follows its input)."""
        spec = provider.model(request.model, request.endpoint)
        wired = request.to_wire()
        issues: list[FieldIssue] = []
        read: dict[str, videos.VideoInfo] = {}
        for wire, rule in spec.video_inputs.items() if spec else ():
            uri = _video_uri(wired.get(wire))
            if not uri:
                continue
            label = LABELS.get(wire, wire)
            with tempfile.TemporaryDirectory(prefix="studio-sim-check-") as tmp:
                held = self._held(uri, tmp)
                if held is None:
                    continue
                try:
                    read[wire] = videos.check_video(held, rule=rule, field=label)
                except InvalidInput as err:
                    issues += [replace(issue, path=(wire,)) for issue in err.issues]
        if issues:
            raise InvalidInput(issues)
        return read

    def _held(self, uri: str, tmp: str) -> Path | None:
        """The file of an input the simulator holds: an upload read where it is kept, a data URI written to ``tmp``."""
        if uri.startswith("data:"):
            return _file(decode_data_uri(uri), tmp, "input")
        return self.uploaded(uri) if uri.startswith(RUNWAY_URI) else None

    def uploaded(self, uri: str) -> Path | None:
        """The file behind a runway:// URI, while it lasts (24 h)."""
        upload = self.uploads.get(uri.removeprefix(RUNWAY_URI).removeprefix("uploads/"))
        if upload is None or upload.path is None or self.clock() > upload.expires_at:
            return None
        return upload.path

    # --- disk ---------------------------------------------------------------------------------------------------

    def sweep(self, *, force: bool = False) -> int:
        """Remove the clips whose every link has expired and the uploads whose URI has expired (at most once a
        minute unless ``force``). Returns how many files were removed."""
        now = self.clock()
        if not force and now - self._swept_at < SWEEP_EVERY_S:
            return 0
        self._swept_at = now
        removed = 0
        for task in list(self.tasks.values()):
            if task.finished_at is not None and now > self.expires_at(task) and self._drop_clip(task):
                removed += 1
        for upload_id, upload in list(self.uploads.items()):
            if now > upload.expires_at:
                del self.uploads[upload_id]
                if upload.path is not None:
                    upload.path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _drop_clip(self, task: SimTask) -> bool:
        """Remove ``task``'s clip unless another task still holds a live link to it (identical requests share
        one clip). True when a file was removed."""
        clip = self.output_path(task)
        if clip is None:
            return False
        now = self.clock()
        for other in self.tasks.values():
            if (
                other is not task
                and other.render is task.render
                and (other.finished_at is None or now <= self.expires_at(other))
            ):
                return False
        for digest, render in list(self._renders.items()):
            if render is task.render:
                del self._renders[digest]  # an identical request later renders it again
        clip.unlink(missing_ok=True)
        return True

    def _finished(self, task: SimTask, now: float) -> dict[str, Any]:
        if task.finished_at is None:
            task.finished_at = now
        return {}

    @staticmethod
    def _render_failure(render: asyncio.Task[Path]) -> dict[str, Any]:
        error = None if render.cancelled() else render.exception()
        if isinstance(error, (InputUnavailable, ValueError)):
            return {"status": "FAILED", "failure": str(error), "failureCode": "ASSET.INVALID"}
        return {"status": "FAILED", "failure": "The simulator could not render this clip.", "failureCode": "INTERNAL"}

    def output_path(self, task: SimTask) -> Path | None:
        render = task.render
        if render is None or not render.done() or render.cancelled() or render.exception() is not None:
            return None
        return render.result() if render.result().exists() else None  # None once expired or deleted

    def output_suffix(self, task: SimTask) -> str:
        """The ending of ``task``'s output file (.mp4 for a clip, the sound's format for video_to_audio)."""
        render = task.render
        if render is None or not render.done() or render.cancelled() or render.exception() is not None:
            return ".mp4"
        return render.result().suffix

    def expires_at(self, task: SimTask) -> float:
        return (task.finished_at or self.clock()) + self.config.output_ttl_s

    # --- rendering --------------------------------------------------------------------------------------------

    def _render_once(self, request: Request, provider: ProviderSpec) -> asyncio.Task[Path]:
        """Start (or share) the render of ``request``: the same body and seed always make the same clip."""
        digest = hashlib.sha256(request.model_dump_json(by_alias=True).encode()).hexdigest()[:32]
        existing = self._renders.get(digest)
        if existing is not None and not (existing.done() and (existing.cancelled() or existing.exception())):
            return existing
        dest = self._outputs / f"{digest}{output_suffix(request)}"
        job = asyncio.get_running_loop().create_task(self._render(request, provider, dest))
        self._renders[digest] = job
        return job

    async def _render(self, request: Request, provider: ProviderSpec, dest: Path) -> Path:
        if not dest.exists():
            inputs = await self._load_inputs(request, provider)
            async with self._render_gate:
                spec = provider.model(request.model, request.endpoint)
                assert spec is not None  # requests are validated against this provider before they get here
                await asyncio.to_thread(_render_clip, request, spec, inputs, dest)
        # Measured here, in a worker thread, so a GET of the finished task never opens the clip on the event loop.
        self._lengths[dest] = await asyncio.to_thread(_clip_seconds, dest)
        return dest

    async def _load_inputs(self, request: Request, provider: ProviderSpec) -> dict[str, bytes]:
        limits, private = provider.limits, self.config.allow_private_urls
        wanted = input_uris(request)
        loaded = await asyncio.gather(
            *(
                load_uri(uri, kind=kind, limits=limits, allow_private=private, uploaded=self.uploaded)
                for kind, uri in wanted.values()
            )
        )
        return dict(zip(wanted, loaded))


def input_uris(request: Request) -> dict[str, tuple[str, str]]:
    """The inputs a request names: name -> (kind, uri)."""
    if isinstance(request, ImageToVideoRequest):
        return {f.position: ("image", f.uri) for f in request.prompt_image}
    if isinstance(request, TextToVideoRequest):
        return {}
    if isinstance(request, (VideoUpscaleRequest, VideoToAudioRequest)):
        return {"video": ("video", request.video_uri)}
    if isinstance(request, VideoToVideoRequest):
        refs = {"reference": ("image", request.references[0].uri)} if request.references else {}
        keyframes = {f"keyframe.{i}": ("image", k.uri) for i, k in enumerate(request.keyframes or ())}
        return {"video": ("video", request.video_uri)} | refs | keyframes
    assert isinstance(request, CharacterPerformanceRequest)
    return {"character": (request.character.type, request.character.uri), "reference": ("video", request.reference.uri)}


def _render_clip(request: Request, spec: ModelSpec, inputs: dict[str, bytes], dest: Path) -> Path:
    """Blocking: render the clip for ``request`` from its decoded inputs (runs in a worker thread)."""
    from studio.simulator import render

    seed = request.seed or 0
    size = ratio_size(request.ratio or spec.default_ratio or "1280:720")
    audio = bool(spec.audio_credits_per_second) and getattr(request, "audio", None) is not False  # Veo: on by default
    with tempfile.TemporaryDirectory(prefix="studio-sim-in-") as tmp:
        if isinstance(request, (VideoUpscaleRequest, VideoToAudioRequest)):
            return _render_finish(request, spec, _file(inputs["video"], tmp, "input.mp4"), dest)
        if isinstance(request, (ImageToVideoRequest, TextToVideoRequest)):
            # The two scenes differ in what they start from; length, size, seed and sound are set alike.
            scene = (
                partial(
                    render.render_image_to_video,
                    first=_image(inputs["first"]),
                    last=_image(inputs["last"]) if "last" in inputs else None,
                )
                if isinstance(request, ImageToVideoRequest)
                else partial(render.render_text_to_video, prompt=request.prompt_text or "")
            )
            return scene(size=size, seconds=_seconds(request.duration, spec), seed=seed, dest=dest, audio=audio)
        if isinstance(request, VideoToVideoRequest):
            return _render_video_to_video(request, spec, inputs, Path(tmp), dest, size if spec.ratios else None)
        assert isinstance(request, CharacterPerformanceRequest)
        character: Image.Image | Path = (
            _image(inputs["character"])
            if request.character.type == "image"
            else _file(inputs["character"], tmp, "character.mp4")
        )
        default_intensity = spec.expression_intensity[2] if spec.expression_intensity else None
        intensity = request.expression_intensity or default_intensity or 3
        return render.render_character_performance(
            character=character,
            reference=_file(inputs["reference"], tmp, "reference.mp4"),
            size=size,
            seed=seed,
            dest=dest,
            body_control=request.body_control if request.body_control is not None else True,
            intensity=intensity,
        )


def output_suffix(request: Request) -> str:
    """The ending of a request's output file: the sound's format for video_to_audio, else .mp4."""
    if isinstance(request, VideoToAudioRequest):
        from studio.simulator.render.finishing import DEFAULT_AUDIO_FORMAT

        return f".{request.format or DEFAULT_AUDIO_FORMAT}"
    return ".mp4"


def _price_options(request: Request) -> dict[str, Any]:
    """The fields besides the length that set a finishing pass's price (the upscaler's resolution and fpsBoost,
    the sound's variants): the request's wire fields other than its inputs (kept per task, so no data URIs)."""
    wired = request.to_wire()
    return {k: wired[k] for k in ("resolution", "fpsBoost", "numVariants") if k in wired}


def _render_finish(
    request: VideoUpscaleRequest | VideoToAudioRequest, spec: ModelSpec, video: Path, dest: Path
) -> Path:
    """A finishing pass: the upscale or new frame rate of ``video``, or a sound for it (an audio file)."""
    from studio.simulator.render import finishing

    rule = spec.video_inputs.get("videoUri")
    if rule is not None:  # a linked input is read only now: upstream fails the task when it breaks the rule
        try:
            videos.check_video(video, rule=rule, field=LABELS["videoUri"])
        except InvalidInput as err:
            raise ValueError(str(err)) from None
    if isinstance(request, VideoToAudioRequest):
        return finishing.render_sound(
            seconds=request.duration,
            seed=request.seed or 0,
            prompt=request.prompt_text or "",
            audio_format=request.format,
            dest=dest,
        )
    if request.target_framerate is not None:
        return finishing.render_frame_rate(video=video, rate=framerate_fps(request.target_framerate), dest=dest)
    default = spec.option_rules.get("resolution")
    resolution = request.resolution or str(default.default if default else "2k")
    return finishing.render_upscale(video=video, resolution=resolution, fps_boost=bool(request.fps_boost), dest=dest)


def _video_uri(value: Any) -> str | None:
    """The URI of a wire field holding a video: a string, or a {"type": "video", "uri": ...} reference."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "video":
        return str(value.get("uri", ""))
    return None


def _seconds(duration: int | None, spec: ModelSpec) -> float:
    return float(duration or spec.default_duration or min(spec.durations or (5,)))


def _render_video_to_video(
    request: VideoToVideoRequest,
    spec: ModelSpec,
    inputs: dict[str, bytes],
    tmp: Path,
    dest: Path,
    size: tuple[int, int] | None,
) -> Path:
    """gen4_aleph (first 5 s, a reference's colours, the ratio's size) or aleph2 (the whole input at its own size,
    regraded toward each keyframe at its time, letterboxed to an outpaint aspect)."""
    from studio.simulator import render
    from studio.simulator.render import footage

    video = _file(inputs["video"], str(tmp), "input.mp4")
    rule = spec.video_inputs.get("videoUri")
    length = footage.video_seconds(video)
    keyframes = [
        (_image(inputs[f"keyframe.{i}"]), k.seconds if k.seconds is not None else (k.at or 0.0) * length)
        for i, k in enumerate(request.keyframes or ())
    ]
    aspect = request.target_aspect_ratio
    return render.render_video_to_video(
        video=video,
        reference=_image(inputs["reference"]) if "reference" in inputs else None,
        keyframes=keyframes,
        size=size,
        target_aspect=tuple(int(side) for side in aspect.split(":")) if aspect else None,  # type: ignore[arg-type]
        max_seconds=(rule.use_first_seconds if rule and rule.use_first_seconds else float("inf")),
        seed=request.seed or 0,
        dest=dest,
        caption=request.prompt_text or "",
    )


def _clip_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return (container.duration or 0) / av.time_base


def _image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, Image.DecompressionBombError):
        raise InputUnavailable("An input image could not be decoded.") from None
    return image.convert("RGB")


def _file(data: bytes, folder: str, name: str) -> Path:
    path = Path(folder) / name
    path.write_bytes(data)
    return path
