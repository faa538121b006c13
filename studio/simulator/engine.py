"""The simulator's task engine: tasks whose status is derived from an injectable clock.

A task is THROTTLED while over ``max_concurrent``, then PENDING for ``pending_s``, then RUNNING with progress
rising from 0 to 1 over ``running_s``, then SUCCEEDED once its clip is rendered (or FAILED). Nothing advances on
its own: every read asks the clock, so tests move time by moving a fake clock.

The clip is rendered in a worker thread as soon as the task is created, from the real inputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import io
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from studio.capabilities import ModelSpec, ProviderSpec, ratio_size
from studio.capabilities import provider as provider_spec
from studio.pricing import estimate, output_seconds
from studio.requests import CharacterPerformanceRequest, ImageToVideoRequest, Request, VideoToVideoRequest
from studio.simulator.config import SimulatorConfig
from studio.simulator.faults import FAILURE_MESSAGES, Faults
from studio.simulator.inputs import InputUnavailable, load_uri

MODERATION_CODE = "INPUT_PREPROCESSING.SAFETY.TEXT"
MODERATION_MESSAGE = FAILURE_MESSAGES[MODERATION_CODE]  # the proxy's own wording


@dataclass
class SimTask:
    id: str
    model: str  # the request itself is not kept: its data URIs can be megabytes, for every task ever made
    created_at: float
    created_iso: str
    start_at: float  # when it leaves THROTTLED
    authorization: str  # recorded so tests can prove each task carried its own visitor's key
    estimated_credits: int = 0  # sent as estimatedCost while live and as cost once charged, like the API
    charged_credits: int | None = None  # set once it succeeds: from the clip's real length
    fail_code: str | None = None  # the task fails with this code part-way through (moderation trigger, or a fault)
    cancelled_at: float | None = None
    render: asyncio.Task[Path] | None = None
    finished_at: float | None = None  # clock time it was first seen SUCCEEDED/FAILED


@dataclass
class Counters:
    created: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)


class TaskEngine:
    """Holds every task of one simulator; safe to use from one event loop."""

    def __init__(self, config: SimulatorConfig, *, clock: Callable[[], float]) -> None:
        self.config = config
        self.provider: ProviderSpec = provider_spec(config.provider)
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

    # --- lifecycle -------------------------------------------------------------------------------------------

    def create(self, request: Request, *, authorization: str) -> SimTask:
        now = self.clock()
        task = SimTask(
            id=str(uuid.uuid4()),
            model=request.model,
            created_at=now,
            created_iso=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            start_at=max(self._take_slot(now), now + self.faults.throttled_s),
            authorization=authorization,
            estimated_credits=self._estimate(request),
            fail_code=MODERATION_CODE if self._is_moderated(request) else self.faults.fail_code,
        )
        if task.fail_code is None:
            task.render = self._render_once(request)
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

    def _estimate(self, request: Request) -> int:
        # Current API versions (and the official SDK's models, which need them to tell the statuses apart) carry
        # estimatedCost on live tasks and cost on finished ones.
        spec = self.provider.model(request.model)
        if spec is None:
            return 0
        seconds = output_seconds(spec, duration=getattr(request, "duration", None))
        if seconds is None:  # follows an input video not read yet (act_two): estimate the longest allowed
            seconds = max((rule.max_seconds or 0.0 for rule in spec.video_inputs.values()), default=0.0)
        return estimate(spec, seconds=seconds).credits

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
            del self.tasks[task_id]
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
        return self._finished(task, now) | base | cost | {"status": "SUCCEEDED", "output": [url]}

    def _charge(self, task: SimTask, clip: Path) -> int:
        """Credits for the clip as made: its length is known only now (act_two follows its reference video)."""
        if task.charged_credits is None:
            spec = self.provider.model(task.model)
            task.charged_credits = estimate(spec, seconds=self._lengths[clip]).credits if spec else 0
        return task.charged_credits

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
        return render.result()

    def expires_at(self, task: SimTask) -> float:
        return (task.finished_at or self.clock()) + self.config.output_ttl_s

    # --- rendering --------------------------------------------------------------------------------------------

    def _render_once(self, request: Request) -> asyncio.Task[Path]:
        """Start (or share) the render of ``request``: the same body and seed always make the same clip."""
        digest = hashlib.sha256(request.model_dump_json(by_alias=True).encode()).hexdigest()[:32]
        existing = self._renders.get(digest)
        if existing is not None and not (existing.done() and (existing.cancelled() or existing.exception())):
            return existing
        job = asyncio.get_running_loop().create_task(self._render(request, self._outputs / f"{digest}.mp4"))
        self._renders[digest] = job
        return job

    async def _render(self, request: Request, dest: Path) -> Path:
        if not dest.exists():
            inputs = await self._load_inputs(request)
            async with self._render_gate:
                spec = self.provider.model(request.model)
                assert spec is not None  # requests are validated against this provider before they get here
                await asyncio.to_thread(_render_clip, request, spec, inputs, dest)
        # Measured here, in a worker thread, so a GET of the finished task never opens the clip on the event loop.
        self._lengths[dest] = await asyncio.to_thread(_clip_seconds, dest)
        return dest

    async def _load_inputs(self, request: Request) -> dict[str, bytes]:
        limits, private = self.provider.limits, self.config.allow_private_urls
        wanted = _input_uris(request)
        loaded = await asyncio.gather(
            *(load_uri(uri, kind=kind, limits=limits, allow_private=private) for kind, uri in wanted.values())
        )
        return dict(zip(wanted, loaded))


def _input_uris(request: Request) -> dict[str, tuple[str, str]]:
    """The inputs a request names: name -> (kind, uri)."""
    if isinstance(request, ImageToVideoRequest):
        return {f.position: ("image", f.uri) for f in request.prompt_image}
    if isinstance(request, VideoToVideoRequest):
        refs = {"reference": ("image", request.references[0].uri)} if request.references else {}
        return {"video": ("video", request.video_uri)} | refs
    assert isinstance(request, CharacterPerformanceRequest)
    return {"character": (request.character.type, request.character.uri), "reference": ("video", request.reference.uri)}


def _render_clip(request: Request, spec: ModelSpec, inputs: dict[str, bytes], dest: Path) -> Path:
    """Blocking: render the clip for ``request`` from its decoded inputs (runs in a worker thread)."""
    from studio.simulator import render

    size = ratio_size(request.ratio or spec.default_ratio)
    seed = request.seed or 0
    with tempfile.TemporaryDirectory(prefix="studio-sim-in-") as tmp:
        if isinstance(request, ImageToVideoRequest):
            seconds = request.duration or spec.default_duration or min(spec.durations or (5,))
            last = _image(inputs["last"]) if "last" in inputs else None
            return render.render_image_to_video(
                first=_image(inputs["first"]),
                last=last,
                size=size,
                seconds=seconds,
                seed=seed,
                dest=dest,
            )
        if isinstance(request, VideoToVideoRequest):
            rule = spec.video_inputs.get("videoUri")
            reference = _image(inputs["reference"]) if "reference" in inputs else None
            return render.render_video_to_video(
                video=_file(inputs["video"], tmp, "input.mp4"),
                reference=reference,
                size=size,
                max_seconds=(rule.use_first_seconds if rule and rule.use_first_seconds else float("inf")),
                seed=seed,
                dest=dest,
                caption=request.prompt_text or "",
            )
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
