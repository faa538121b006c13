"""The studio's service layer: form -> prepared request -> job (create, wait, download) -> status snapshots.

The UI calls only this module. A generation runs as a background ``Job``: the page follows it, but closing the
tab (which stops the page's handler) never interrupts a create call or leaves a task unwatched: the job goes on
polling and downloads the output. Cancel is explicit (``Studio.cancel``) and also cancels the remote task.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Literal, Mapping, Union

from PIL import Image

from studio import media
import httpx

from studio.capabilities import PROVIDERS, ModelSpec, ProviderSpec, VideoInputRule, provider as provider_spec
from studio.client import RunwayClient
from studio.settings import Settings
from studio.simulator.app import create_app as create_simulator
from studio.simulator.config import SimulatorConfig
from studio.errors import FieldIssue, InvalidInput, StudioError
from studio.pricing import Estimate, estimate, output_seconds
from studio.requests import Request, check_request, parse_request
from studio.tasks import Cancelled, Failed, Pending, Running, Succeeded, TaskEvent, Throttled

log = logging.getLogger(__name__)

Fit = Literal["crop", "pad", "as-is"]
KeySource = Literal["simulator", "server key", "your key"]
SIMULATOR_KEY = "simulator"  # the simulator takes any Bearer key; this one is not a secret
MAX_OUTPUT_BYTES = 512 * 1024 * 1024
JOB_RETENTION_S = 3600.0  # a finished job stays reachable (for cancel and re-attach) this long
EMBEDDED_SIMULATOR_URL = "http://simulator.internal"  # never resolved: the ASGI transport answers it in-process
STANDALONE_SIMULATOR_URL = "http://127.0.0.1:8787"  # python -m studio.simulator


def override_for(settings: Settings) -> str:
    return settings.base_url.rstrip("/") if settings.base_url else ""


@dataclass(frozen=True)
class MediaInput:
    """An input given as an uploaded file or an https link (the upload wins when both are given)."""

    path: str | None = None
    url: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.path) or bool((self.url or "").strip())


@dataclass(frozen=True)
class ImageToVideoForm:
    model: str
    ratio: str
    first: MediaInput
    last: MediaInput = MediaInput()
    prompt: str = ""
    duration: int | None = None
    seed: int | None = None  # None: a random seed, reported back
    fit: Fit = "crop"
    watermark: bool | None = None
    notify_hook: str | None = None


@dataclass(frozen=True)
class VideoToVideoForm:
    model: str
    ratio: str
    video: MediaInput
    prompt: str = ""
    reference: MediaInput = MediaInput()
    seed: int | None = None
    threshold: str = "auto"
    fit: Fit = "crop"


@dataclass(frozen=True)
class CharacterForm:
    model: str
    ratio: str
    character: MediaInput
    reference: MediaInput
    character_type: Literal["image", "video"] = "image"
    body_control: bool = True
    intensity: int = 3
    seed: int | None = None
    threshold: str = "auto"
    fit: Fit = "crop"


Form = Union[ImageToVideoForm, VideoToVideoForm, CharacterForm]
ENDPOINT_OF: dict[type, str] = {
    ImageToVideoForm: "image_to_video",
    VideoToVideoForm: "video_to_video",
    CharacterForm: "character_performance",
}


@dataclass(frozen=True)
class Prepared:
    """A validated request ready to send, what it will cost, and what was done to the inputs."""

    request: Request
    provider: ProviderSpec
    estimate: Estimate
    notes: tuple[str, ...] = ()
    previews: Mapping[str, Image.Image] = field(default_factory=dict)


Phase = Literal[
    "preparing", "submitting", "queued", "throttled", "running", "downloading", "succeeded", "failed", "cancelled"
]
FINAL_PHASES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class JobStatus:
    """One snapshot of a generation, as the page shows it."""

    phase: Phase
    message: str
    elapsed_s: float = 0.0
    progress: float | None = None
    task_id: str | None = None
    seed: int | None = None
    video: Path | None = None
    estimate: Estimate | None = None
    notes: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.phase in FINAL_PHASES


class Job:
    """One generation: sends the request once, follows the task to its end, downloads the output."""

    def __init__(self, *, prepared: Prepared, client: RunwayClient, key: str, outputs: Path, clock: Callable[[], float]) -> None:
        self.endpoint = prepared.request.endpoint
        self._request: Request | None = prepared.request  # released once sent: data URIs can be megabytes
        self.seed = prepared.request.seed
        self._client, self._key, self._outputs, self._clock = client, key, outputs, clock
        self._started = clock()
        self.task_id: str | None = None
        self._cancel_requested = False
        self._changed = asyncio.Event()
        self.status = JobStatus("submitting", "Sending the request…", seed=self.seed, estimate=prepared.estimate, notes=prepared.notes)
        self.ended_at: float | None = None
        self._runner = asyncio.get_running_loop().create_task(self._run())

    def _publish(self, phase: Phase, message: str, **changes: object) -> None:
        now = self._clock()
        self.status = replace(self.status, phase=phase, message=message, elapsed_s=now - self._started, **changes)  # type: ignore[arg-type]
        if self.status.final:
            self.ended_at = now
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self) -> AsyncIterator[JobStatus]:
        """Every new status until the job ends, starting with the current one."""
        while True:
            changed = self._changed
            status = self.status
            yield status
            if status.final:
                return
            await changed.wait()

    async def _run(self) -> None:
        assert self._request is not None
        try:
            created = await self._client.create(self._request, key=self._key)
        except StudioError as err:
            self._publish("failed", str(err))
            return
        finally:
            self._request = None
        self.task_id = created.task_id
        self._publish("queued", "Created; waiting for the provider to start it.", task_id=created.task_id)
        if self._cancel_requested:
            await self._cancel_remote()
            return
        try:
            await self._follow_task(created.task_id)
        except StudioError as err:
            self._publish("failed", str(err))

    async def _follow_task(self, task_id: str) -> None:
        async for event in self._client.wait(task_id, key=self._key):
            if isinstance(event, Succeeded):
                await self._deliver(event)
                return
            self._on_event(event)

    def _on_event(self, event: TaskEvent) -> None:
        if isinstance(event, Pending):
            self._publish("queued", "Queued: the provider will start it shortly.")
        elif isinstance(event, Throttled):
            self._publish("throttled", "Waiting for a free slot on your account (throttled). It will start on its own.")
        elif isinstance(event, Running):
            self._publish("running", "Generating…", progress=event.progress)
        elif isinstance(event, Failed):
            self._publish("failed", event.reason.message)
        elif isinstance(event, Cancelled):
            self._publish("cancelled", "Cancelled.")

    async def _deliver(self, event: Succeeded) -> None:
        if not event.outputs:
            self._publish("failed", "The task succeeded but the provider sent no output link.")
            return
        self._publish("downloading", "Done; fetching the video…", progress=1.0)
        dest = self._outputs / f"{secrets.token_urlsafe(18)}.mp4"
        path = await self._client.download(event.outputs[0], dest, max_bytes=MAX_OUTPUT_BYTES)
        self._publish("succeeded", "Your video is ready.", video=path, progress=1.0)

    async def cancel(self) -> None:
        """Stop following and cancel the remote task. A create in flight is let through, then cancelled."""
        if self.status.final:
            return
        self._cancel_requested = True
        if self.task_id is None:
            return  # the runner cancels the task as soon as the create call returns
        self._runner.cancel()
        await self._cancel_remote()

    async def _cancel_remote(self) -> None:
        assert self.task_id is not None
        try:
            await self._client.cancel_task(self.task_id, key=self._key)
        except StudioError as err:
            self._publish("failed", f"Stopped watching, but cancelling the task failed: {err}")
            return
        self._publish("cancelled", "Cancelled. The task was stopped on the provider.")

    async def wait_done(self) -> JobStatus:
        async for status in self.follow():
            if status.final:
                return status
        return self.status


class Studio:
    """What the UI talks to: provider clients, input preparation, and the jobs of every visitor's session."""

    def __init__(
        self,
        *,
        clients: Mapping[str, RunwayClient],
        server_provider: str,
        server_key: str,
        data_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.clients = clients
        self.server_provider = server_provider
        self._server_key = server_key
        self.outputs = data_dir / "outputs"
        self.workdir = data_dir / "work"
        for folder in (self.outputs, self.workdir):
            folder.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self._jobs: dict[tuple[str, str], Job] = {}  # (session, endpoint) -> latest job
        self._base_override = ""
        self.simulator_app: Any = None  # the embedded simulator (tests read its task counters)

    @classmethod
    def from_settings(cls, settings: Settings, *, simulator: SimulatorConfig | None = None) -> "Studio":
        """The studio for ``settings``: the simulator in-process (or at STUDIO_BASE_URL), plus the real providers."""
        clients: dict[str, RunwayClient] = {}
        simulator_app = None
        for name, spec in PROVIDERS.items():
            override = settings.base_url if name == settings.provider and settings.base_url else None
            if name == "simulator" and override is None:
                config = simulator or SimulatorConfig(
                    pending_s=settings.sim_pending_s,
                    running_s=settings.sim_running_s,
                    max_concurrent=settings.sim_max_concurrent,
                    output_dir=settings.data_dir / "simulator",
                )
                simulator_app = create_simulator(config)
                transport = httpx.ASGITransport(app=simulator_app)
                clients[name] = RunwayClient(provider=spec, base_url=EMBEDDED_SIMULATOR_URL, transport=transport)
            else:
                clients[name] = RunwayClient(provider=spec, base_url=override)
        studio = cls(clients=clients, server_provider=settings.provider, server_key=settings.api_key, data_dir=settings.data_dir)
        studio._base_override = override_for(settings)
        studio.simulator_app = simulator_app
        return studio

    def code_base_url(self, provider: str) -> str:
        """The base URL shown in copy-as-code: the provider's, or the standalone simulator's."""
        if provider == self.server_provider and self._base_override:
            return self._base_override
        return provider_spec(provider).base_url or STANDALONE_SIMULATOR_URL

    # --- keys ------------------------------------------------------------------------------------------------

    def providers(self) -> list[str]:
        return list(self.clients)

    def key_for(self, provider_name: str, visitor_key: str | None) -> tuple[str, KeySource]:
        """The key to use and where it came from. Raises InvalidInput when a real provider has none."""
        if visitor_key and visitor_key.strip() and provider_name != "simulator":
            return visitor_key.strip(), "your key"
        if provider_name == "simulator":
            return SIMULATOR_KEY, "simulator"
        if self._server_key and provider_name == self.server_provider:
            return self._server_key, "server key"
        label = provider_spec(provider_name).label
        raise InvalidInput(FieldIssue("API key", f"{label} needs an API key. Enter your key in Settings, or choose the Simulator."))

    def key_source(self, provider_name: str, visitor_key: str | None) -> str:
        try:
            return self.key_for(provider_name, visitor_key)[1]
        except InvalidInput:
            return "none"

    # --- prepare ------------------------------------------------------------------------------------------------

    async def prepare(self, form: Form, *, provider: str) -> Prepared:
        """Check every field, then prepare the media (off the event loop). Raises InvalidInput."""
        spec_provider = provider_spec(provider)
        endpoint = ENDPOINT_OF[type(form)]
        seed = form.seed if form.seed is not None else self._rng.randint(spec_provider.limits.seed_min, spec_provider.limits.seed_max)
        form = replace(form, seed=seed)
        _quick_check(form, endpoint=endpoint, provider=spec_provider)  # no media work for what is wrong anyway
        return await asyncio.to_thread(_prepare_blocking, form, endpoint, spec_provider, self.workdir)

    # --- jobs -----------------------------------------------------------------------------------------------

    def start(self, prepared: Prepared, *, key: str, session: str) -> Job:
        self._forget_old_jobs()
        client = self.clients[prepared.provider.name]
        job = Job(prepared=prepared, client=client, key=key, outputs=self.outputs, clock=self._clock)
        self._jobs[(session, prepared.request.endpoint)] = job
        return job

    def _forget_old_jobs(self) -> None:
        """Drop jobs that ended long ago, so a long-running public studio does not grow without bound."""
        cutoff = self._clock() - JOB_RETENTION_S
        for key in [k for k, job in self._jobs.items() if job.ended_at is not None and job.ended_at < cutoff]:
            del self._jobs[key]

    def job(self, *, session: str, endpoint: str) -> Job | None:
        return self._jobs.get((session, endpoint))

    async def cancel(self, *, session: str, endpoint: str) -> JobStatus | None:
        job = self._jobs.get((session, endpoint))
        if job is None:
            return None
        await job.cancel()
        return job.status

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    # --- what the form shows before sending ---------------------------------------------------------------

    async def preview_image(self, path: str, *, label: str, ratio: str, fit: Fit, provider: str) -> Image.Image:
        """The image exactly as it would be sent. Raises InvalidInput with a message for the field."""
        limits = provider_spec(provider).limits
        prepared = await asyncio.to_thread(media.prepare_image, path, field=label, ratio=ratio, fit=fit, limits=limits)
        return prepared.preview

    async def video_seconds(self, path: str, *, label: str) -> float:
        """The length of an uploaded video. Raises InvalidInput when it cannot be read."""
        info = await asyncio.to_thread(media.probe_video, path, field=label)
        return info.duration_s

    async def last_frame(self, video: Path) -> Path:
        """The last frame of a clip, saved as a PNG beside it (for "use last frame as first frame")."""
        return await asyncio.to_thread(media.save_last_frame, video, video.with_suffix(".last.png"))

    def cost(self, *, provider: str, model: str, duration: int | None = None, input_seconds: float | None = None) -> Estimate | None:
        """The estimate for a model, or None when the length is not known yet (act_two before a reference)."""
        spec = provider_spec(provider).model(model)
        if spec is None:
            return None
        seconds = output_seconds(spec, duration=duration, input_seconds=input_seconds)
        return estimate(spec, seconds=seconds) if seconds else None


# --- building the request from a form ------------------------------------------------------------------------

_PLACEHOLDER = {
    "image": "data:image/png;base64,AAAA",
    "video": "data:video/mp4;base64,AAAA",
}


def _quick_check(form: Form, *, endpoint: str, provider: ProviderSpec) -> None:
    """Validate everything but the media, with placeholders for uploads, so errors come before slow work."""
    issues = _missing_inputs(form)
    body = _body(form, {name: _PLACEHOLDER[kind] if given.path else (given.url or "").strip() for name, (kind, given) in _inputs(form).items() if given.given})
    try:
        request = parse_request(endpoint, body, provider=provider)
    except InvalidInput as err:
        issues += [i for i in err.issues if i.field not in {j.field for j in issues}]
    else:
        issues += check_request(request, provider=provider)
    if issues:
        raise InvalidInput(issues)


def _missing_inputs(form: Form) -> list[FieldIssue]:
    required = {
        ImageToVideoForm: ("first", "First frame"),
        VideoToVideoForm: ("video", "Input video"),
    }
    issues: list[FieldIssue] = []
    if isinstance(form, CharacterForm):
        for name, label in (("character", "Character"), ("reference", "Reference performance video")):
            if not getattr(form, name).given:
                issues.append(FieldIssue(label, f"{label} is required. Upload a file or give an https link."))
        return issues
    name, label = required[type(form)]
    if not getattr(form, name).given:
        issues.append(FieldIssue(label, f"{label} is required. Upload a file or give an https link."))
    return issues


def _inputs(form: Form) -> dict[str, tuple[str, MediaInput]]:
    """The media inputs of a form: name -> (kind, input)."""
    if isinstance(form, ImageToVideoForm):
        return {"first": ("image", form.first), "last": ("image", form.last)}
    if isinstance(form, VideoToVideoForm):
        return {"video": ("video", form.video), "reference": ("image", form.reference)}
    return {"character": (form.character_type, form.character), "reference": ("video", form.reference)}


def _body(form: Form, uris: Mapping[str, str]) -> dict[str, object]:
    """The wire body for a form, given each input's URI."""
    prompt = form.prompt if isinstance(form, (ImageToVideoForm, VideoToVideoForm)) else ""
    body: dict[str, object] = {"model": form.model, "ratio": form.ratio, "seed": form.seed}
    if prompt:
        body["promptText"] = prompt
    if isinstance(form, ImageToVideoForm):
        frames = [{"uri": uris[p], "position": p} for p in ("first", "last") if p in uris]
        body |= {"promptImage": frames, "duration": form.duration}
        body |= {k: v for k, v in (("watermark", form.watermark), ("notify_hook", (form.notify_hook or "").strip() or None)) if v is not None}
    elif isinstance(form, VideoToVideoForm):
        body["videoUri"] = uris.get("video", "")
        if "reference" in uris:
            body["references"] = [{"type": "image", "uri": uris["reference"]}]
        body["contentModeration"] = {"publicFigureThreshold": form.threshold}
    else:
        body |= {
            "character": {"type": form.character_type, "uri": uris.get("character", "")},
            "reference": {"type": "video", "uri": uris.get("reference", "")},
            "bodyControl": form.body_control,
            "expressionIntensity": form.intensity,
            "contentModeration": {"publicFigureThreshold": form.threshold},
        }
    return {k: v for k, v in body.items() if v is not None}


_LABELS = {
    "first": "First frame",
    "last": "Last frame",
    "video": "Input video",
    "reference": "Reference performance video",
    "character": "Character",
}


def _prepare_blocking(form: Form, endpoint: str, provider: ProviderSpec, workdir: Path) -> Prepared:
    spec = provider.models[form.model]
    uris: dict[str, str] = {}
    notes: list[str] = []
    previews: dict[str, Image.Image] = {}
    seconds: float | None = None
    issues: list[FieldIssue] = []
    for name, (kind, given) in _inputs(form).items():
        if not given.given:
            continue
        label = "Reference image" if (name == "reference" and kind == "image") else _LABELS[name]
        try:
            uris[name], note, preview, length = _prepare_input(
                given, kind=kind, label=label, wire=_wire_name(endpoint, name), form=form, spec=spec, provider=provider, workdir=workdir
            )
        except InvalidInput as err:
            issues += err.issues
            continue
        notes += [note] if note else []
        if preview is not None:
            previews[name] = preview
        if length is not None and name in ("video", "reference"):
            seconds = length
    if issues:
        raise InvalidInput(issues)
    request = parse_request(endpoint, _body(form, uris), provider=provider)
    duration = form.duration if isinstance(form, ImageToVideoForm) else None
    out_s = output_seconds(spec, duration=duration, input_seconds=seconds) or 0.0
    return Prepared(request, provider, estimate(spec, seconds=out_s), tuple(notes), previews)


def _wire_name(endpoint: str, name: str) -> str:
    if endpoint == "video_to_video":
        return {"video": "videoUri", "reference": "references"}[name]
    return name


def _prepare_input(
    given: MediaInput, *, kind: str, label: str, wire: str, form: Form, spec: ModelSpec, provider: ProviderSpec, workdir: Path
) -> tuple[str, str, Image.Image | None, float | None]:
    """(uri, note, preview, seconds) for one input."""
    limits = provider.limits
    if not given.path:
        return media.check_url((given.url or "").strip(), field=label, limits=limits), "", None, None
    if kind == "image":
        image = media.prepare_image(given.path, field=label, ratio=form.ratio, fit=form.fit, limits=limits)
        return image.data_uri, "", image.preview, None
    rule = spec.video_inputs.get(wire) or VideoInputRule()
    video = media.prepare_video(given.path, field=label, rule=rule, limits=limits, workdir=workdir)
    note = ""
    if video.trimmed and rule.use_first_seconds:
        note = f"{label}: only the first {rule.use_first_seconds:g} s of {video.source.duration_s:.1f} s are used."
    elif video.reencoded:
        note = f"{label}: re-encoded to H.264 to fit the upload limit."
    return video.data_uri, note, None, video.info.duration_s

