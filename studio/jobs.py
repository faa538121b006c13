"""A generation in flight: send the request once, follow the task to its end, keep the output.

A ``Job`` runs in the background on the server's event loop. The page follows it (``follow``), but the job does not
depend on the page: closing the tab never interrupts a create call or leaves a task unwatched. Every change is
written to the history store as it happens, so a restart finds the task where it was (see ``Studio.reconcile``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from studio.client import RunwayClient
from studio.codegen import CodeSnippets
from studio.errors import (
    DownloadError,
    StudioError,
    TaskMayExist,
    TaskNotFound,
    UploadFailed,
)
from studio.history import HistoryStore
from studio.i18n import Message, Msg
from studio.phases import Phase
from studio.pricing import Estimate
from studio.requests import Request
from studio.storage import FileStore
from studio.tasks import Cancelled, Failed, Pending, Running, Succeeded, TaskEvent, Throttled, Unreachable
from studio.uris import UPLOAD_PLACEHOLDER
from studio.vault import Kept, download_name, fetch_kept, keep_output, keep_sound

log = logging.getLogger(__name__)

MAY_EXIST_CODE = "STUDIO.MAY_EXIST"
LINK_REFUSED_CODE = "STUDIO.OUTPUT_REFUSED"
LOST_AFTER_S = 3600.0  # a task id the provider has never shown in this long is given up as lost
# A task the provider cannot be asked about is followed this long after it was created: providers' output links last
# 24-48 h after the task ends, so past 48 h its clip could no longer be fetched even if contact came back.
FOLLOW_FOR_S = 48 * 3600.0
SOUND_ENDPOINTS = frozenset({"video_to_audio"})  # their output is audio for the input clip, not a clip
PROGRESS_STEP = 0.1  # history keeps progress in tenths: enough for the History tab, not a write per poll


@dataclass(frozen=True)
class JobStatus:
    """One snapshot of a generation, as the page shows it.

    ``message`` says it in the visitor's language (``studio.i18n.localize(status.message, lang)``); so do ``notes``.
    """

    phase: Phase
    message: Message
    elapsed_s: float = 0.0
    progress: float | None = None
    task_id: str | None = None
    generation_id: str | None = None
    seed: int | None = None
    video: Path | None = None
    estimate: Estimate | None = None  # the studio's own, from the table
    notes: tuple[Message, ...] = ()
    failure_code: str | None = None
    provider_estimate: float | None = None  # what the provider expects to charge (estimatedCost), once created
    credits: float | None = None  # what the provider charged (cost; 0 = refunded), once the task is over

    def __post_init__(self) -> None:
        object.__setattr__(self, "phase", Phase(self.phase))  # a phase given by its stored text

    @property
    def final(self) -> bool:
        return self.phase.final

    @property
    def message_key(self) -> str | None:
        return self.message.key if isinstance(self.message, Msg) else None

    @property
    def params(self) -> dict[str, object]:
        return dict(self.message.params) if isinstance(self.message, Msg) else {}


@dataclass
class Lease:
    """The lease on a generation this replica's job follows (``HistoryStore.take_lease``): renewed as the job goes,
    once a third of its TTL has passed on the job's clock, so no other replica takes the task over meanwhile."""

    history: HistoryStore
    name: str
    owner: str
    ttl_s: float
    clock: Callable[[], float]
    renewed_at: float

    async def keep(self) -> bool:
        """Renew it when due. False when another replica holds it now (this one stalled past its expiry)."""
        if self.clock() - self.renewed_at < self.ttl_s / 3:
            return True
        self.renewed_at = self.clock()
        return await self.history.run(self.history.renew_lease, self.name, owner=self.owner, ttl_s=self.ttl_s)


class SharedUploads:
    """The inputs a generation uploads before its create call, uploaded once for all its takes: the first take to
    ask starts the upload, every take sees its progress and gets the same runway:// URIs (or the same failure)."""

    def __init__(self, client: RunwayClient, key: str, files: Mapping[str, Path]) -> None:
        self._client, self._key, self._files = client, key, dict(files)
        self._watchers: list[Callable[[float], None]] = []
        self._task: asyncio.Task[dict[str, str]] | None = None

    async def run(self, on_progress: Callable[[float], None]) -> dict[str, str]:
        """The runway:// URI for each placeholder; raises UploadFailed."""
        self._watchers.append(on_progress)
        if self._task is None:
            self._task = contextvars.Context().run(asyncio.get_running_loop().create_task, self._upload_all())
        return await asyncio.shield(self._task)  # one take cancelled does not stop the others' upload

    async def _upload_all(self) -> dict[str, str]:
        uploaded: dict[str, str] = {}
        total = len(self._files)
        for done, (name, path) in enumerate(self._files.items()):

            def show(fraction: float, done: int = done) -> None:
                for watcher in self._watchers:
                    watcher((done + fraction) / total)

            uploaded[UPLOAD_PLACEHOLDER + name] = await self._client.upload(path, key=self._key, on_progress=show)
        return uploaded


class Job:
    """Sends ``request`` (or resumes ``task_id``), follows the task, and keeps its output in the vault."""

    def __init__(
        self,
        *,
        generation_id: str,
        endpoint: str,
        client: RunwayClient,
        key: str,
        history: HistoryStore,
        outputs: Path,
        clock: Callable[[], float],
        request: Request | None = None,
        task_id: str | None = None,
        estimate: Estimate | None = None,
        seed: int | None = None,
        notes: tuple[Message, ...] = (),
        born_at: float | None = None,
        seen: bool = False,
        media_gate: asyncio.Semaphore | None = None,
        code: CodeSnippets | None = None,
        uploads: SharedUploads | None = None,
        store: FileStore | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.generation_id, self.endpoint = generation_id, endpoint
        self.code = code  # the request as sent, for copy-as-code (its data URIs elided)
        self._request = request  # released once sent: its data URIs can be megabytes
        self._uploads = uploads  # inputs to upload before the create call (shared by the takes of a generation)
        self._client, self._key, self._history, self._outputs, self._clock = client, key, history, outputs, clock
        self._started = clock()
        self.task_id = task_id
        self.ended_at: float | None = None
        self._cancel_requested = False
        self._changed = asyncio.Event()
        self._recorded: JobStatus | None = None  # the last status written to history
        self._born_at = history.now() if born_at is None else born_at  # when the generation was recorded
        self._age_at_start = history.now() - self._born_at
        self._seen = seen  # the provider has shown this task at least once
        self._media_gate = media_gate
        self._store = store  # where the clip is kept for every replica (``studio.storage``)
        self._lease = lease
        first = Phase.QUEUED if request is None else Phase.UPLOADING if uploads else Phase.SUBMITTING
        self.status = JobStatus(
            first,
            Msg("job.checking") if request is None else Msg("job.uploading") if self._uploads else Msg("job.sending"),
            task_id=task_id,
            generation_id=generation_id,
            seed=seed,
            estimate=estimate,
            notes=notes,
        )
        # In a context of its own: the handler's context holds Gradio's whole request, and a job outlives it by an hour.
        self._runner = contextvars.Context().run(asyncio.get_running_loop().create_task, self._run())

    # --- what the page sees ---------------------------------------------------------------------------------

    async def follow(self) -> AsyncIterator[JobStatus]:
        """Every new status until the job ends, starting with the current one."""
        while True:
            changed = self._changed
            status = self.status
            yield status
            if status.final:
                return
            await changed.wait()

    async def wait_done(self) -> JobStatus:
        async for status in self.follow():
            if status.final:
                return status
        return self.status

    def _worth_recording(self, status: JobStatus) -> bool:
        """Every change of phase is written; progress within a phase only in steps of PROGRESS_STEP."""
        last = self._recorded
        if last is None or last.phase != status.phase:
            return True
        return abs((status.progress or 0) - (last.progress or 0)) >= PROGRESS_STEP

    async def _publish(self, phase: Phase, message: Message, **changes: object) -> None:
        """Record the new status in history, then show it: the page is never ahead of what is kept."""
        now = self._clock()
        status = replace(self.status, phase=phase, message=message, elapsed_s=now - self._started, **changes)  # type: ignore[arg-type]
        if phase.recorded and self._worth_recording(status):
            self._recorded = status
            await self._history.run(
                self._history.record,
                self.generation_id,
                phase,
                progress=status.progress,
                failure_code=status.failure_code if phase is Phase.FAILED else None,
                failure_reason=message if phase in (Phase.FAILED, Phase.LOST) else None,
            )
        self.status = status
        if status.final:
            self.ended_at = now
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- the work -------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if self.task_id is None:
                await self._create()
            if self.task_id is not None and not self.status.final:
                await self._follow_task(self.task_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("generation %s stopped unexpectedly", self.generation_id)
            await self._publish(Phase.INTERRUPTED, Msg("job.broken"))

    async def _upload(self) -> dict[str, str] | None:
        """Upload the inputs too big for a data URI; their runway:// URIs by placeholder. None when an upload failed
        or the visitor cancelled meanwhile: then nothing was created, and the status says so."""
        if self._uploads is None:
            return {}
        try:
            uploaded = await self._uploads.run(self._show_progress)
        except UploadFailed as err:
            await self._publish(Phase.FAILED, Msg("job.upload_failed", error=err.message))
            return None
        if self._cancel_requested:
            await self._publish(Phase.CANCELLED, Msg("job.cancelled_before_create"))
            return None
        await self._publish(Phase.SUBMITTING, Msg("job.sending"), progress=None)
        return uploaded

    def _show_progress(self, fraction: float) -> None:
        """An upload's progress, for the page only (history keeps the phase, not every percent)."""
        if self.status.progress is not None and fraction - self.status.progress < 0.01 and fraction < 1:
            return
        self.status = replace(self.status, progress=fraction, elapsed_s=self._clock() - self._started)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _create(self) -> None:
        assert self._request is not None
        uploaded = await self._upload()
        if uploaded is None:
            self._request = None
            return
        try:
            created = await self._client.create(self._request, key=self._key, uploaded=uploaded)
        except TaskMayExist as err:
            await self._publish(Phase.FAILED, err.message, failure_code=MAY_EXIST_CODE)
            return
        except StudioError as err:
            await self._publish(Phase.FAILED, err.message)
            return
        finally:
            self._request = None
        # Kept before anything else learns the id: whoever sees job.task_id can rely on history having it.
        await self._history.run(self._history.set_task, self.generation_id, created.task_id)
        self.task_id = created.task_id
        await self._publish(
            Phase.QUEUED, Msg("job.created"), task_id=created.task_id, provider_estimate=created.estimated_credits
        )
        if self._cancel_requested:
            await self._cancel_remote()

    async def _follow_task(self, task_id: str) -> None:
        try:
            async for event in self._client.wait(task_id, key=self._key):
                if isinstance(event, Unreachable):
                    if not await self._still_mine() or await self._lost_contact(event):
                        return
                    continue
                if not await self._still_mine():
                    return
                self._seen = True
                if isinstance(event, Succeeded):
                    await self._deliver(event)
                    return
                await self._on_event(event)
        except TaskNotFound:
            await self._not_found()
        except StudioError as err:
            # Only the provider's own terminal status ends a task: any other trouble reading it (a refused read,
            # a timeout) leaves the row open for the reconciler, until the clip could no longer be fetched.
            if self._past_following():
                await self._publish(Phase.LOST, Msg("job.gave_up_following", hours=FOLLOW_FOR_S / 3600))
            else:
                await self._publish(Phase.INTERRUPTED, Msg("job.keeps_checking", error=err.message))

    async def _still_mine(self) -> bool:
        """Renew the lease when due. When another replica has taken the generation over (this one stalled past the
        lease's expiry), stop following it: that one records it from now on, so the page is told, History is not."""
        if self._lease is None or await self._lease.keep():
            return True
        log.warning("generation %s is followed by another replica now", self.generation_id)
        self.status = replace(self.status, phase=Phase.INTERRUPTED, message=Msg("job.followed_elsewhere"))
        self.ended_at = self._clock()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return False

    def _past_following(self) -> bool:
        """FOLLOW_FOR_S since the generation was created: its age when this job began, plus the job's own time (each
        on its own clock: History's is the wall clock, the job's the one the client polls by)."""
        return self._age_at_start + self._clock() - self._started > FOLLOW_FOR_S

    async def _lost_contact(self, event: Unreachable) -> bool:
        """The task cannot be read for now: say so and keep following (True: stop, it has been too long)."""
        if self._past_following():
            await self._publish(Phase.LOST, Msg("job.gave_up_following", hours=FOLLOW_FOR_S / 3600))
            return True
        await self._publish(self.status.phase, Msg("job.lost_contact", error=event.problem))
        return False

    async def _not_found(self) -> None:
        """A 404 past the fresh-id grace. A task seen before and gone now is lost; one never seen yet may still
        appear (resellers can be slow to show new ids), so it stays open for the reconciler, until it is too old."""
        too_old = self._history.now() - self._born_at > LOST_AFTER_S
        if self._seen or too_old:
            await self._publish(Phase.LOST, Msg("job.lost"))
        else:
            await self._publish(Phase.INTERRUPTED, Msg("job.not_shown_yet"))

    async def _on_event(self, event: TaskEvent) -> None:
        if isinstance(event, Pending):
            await self._publish(Phase.QUEUED, Msg("job.queued"))
        elif isinstance(event, Throttled):
            await self._publish(Phase.THROTTLED, Msg("job.throttled"))
        elif isinstance(event, Running):
            await self._publish(Phase.RUNNING, Msg("job.generating"), progress=event.progress)
        elif isinstance(event, Failed):
            await self._charged(event.credits)
            await self._publish(Phase.FAILED, event.reason.message, failure_code=event.code, credits=event.credits)
        elif isinstance(event, Cancelled):
            await self._charged(event.credits)
            await self._publish(Phase.CANCELLED, Msg("job.cancelled"), credits=event.credits)

    async def _charged(self, credits: float | None) -> None:
        """Keep what the provider charged for a task that ended without a clip (the spend guard counts it)."""
        if credits is not None:
            await self._history.run(self._history.set_cost, self.generation_id, credits)

    async def _deliver(self, event: Succeeded) -> None:
        if not event.outputs:
            await self._publish(Phase.FAILED, Msg("job.no_output"))
            return
        await self._publish(Phase.DOWNLOADING, Msg("job.keeping"), progress=1.0)
        try:
            kept = await self._keep(event)
        except ClipGone as err:  # Add sound: nothing left to put the sound on; asking again would not help
            await self._publish(Phase.FAILED, err.message)
            return
        except DownloadError as err:
            if err.refused:  # asked again already: the provider keeps refusing this clip's link
                await self._publish(
                    Phase.FAILED, Msg("job.link_expired", error=err.message), failure_code=LINK_REFUSED_CODE
                )
            else:
                await self._publish(Phase.INTERRUPTED, Msg("job.retry_download", error=err.message))
            return
        await self._history.run(
            self._history.set_output,
            self.generation_id,
            output_path=str(kept.video),
            poster_path=str(kept.poster),
            actual_credits=event.credits,
            audio_path=str(kept.audio) if kept.audio else None,
        )
        await self._publish(Phase.SUCCEEDED, Msg("job.ready"), video=kept.video, progress=1.0, credits=event.credits)

    async def _keep(self, event: Succeeded) -> Kept:
        """Keep the clip, under its download name. A refused link (expired, 403) gets one fresh look at the task:
        providers sign a new one."""
        row = await self._history.run(self._history.get, self.generation_id)
        name = download_name(row) if row is not None else None
        given = row.form.get("video") if row is not None and self.endpoint in SOUND_ENDPOINTS else None
        if isinstance(given, Mapping):  # the clip Add sound was made for, perhaps kept by another replica
            await fetch_kept(given.get("path"), store=self._store)
        source = _finished_clip(row.form if row is not None else {}) if self.endpoint in SOUND_ENDPOINTS else None
        folder, gate, store = self._outputs, self._media_gate, self._store

        async def fetch(url: str) -> Kept:
            if source is not None:  # Add sound: the output is audio, muxed into the clip it was made for
                return await keep_sound(
                    self._client, url, source=source, folder=folder, gate=gate, name=name, store=store
                )
            return await keep_output(self._client, url, folder=folder, gate=gate, name=name, store=store)

        try:
            return await fetch(event.outputs[0])
        except DownloadError as err:
            if not err.refused or self.task_id is None:
                raise
            refusal = err
        task = await self._client.get_task(self.task_id, key=self._key)
        if not task.output or task.output[0] == event.outputs[0]:
            raise refusal  # the same link again: no point fetching it twice
        return await fetch(task.output[0])

    # --- cancel -----------------------------------------------------------------------------------------------

    async def cancel(self) -> None:
        """Stop following and cancel the remote task. A create in flight is let through, then cancelled."""
        if self.status.final:
            return
        self._cancel_requested = True
        if self.task_id is None:
            return  # _create cancels the task as soon as the create call returns
        self._runner.cancel()
        await self._cancel_remote()

    async def _cancel_remote(self) -> None:
        assert self.task_id is not None
        try:
            await self._client.cancel_task(self.task_id, key=self._key)
        except StudioError as err:
            await self._publish(Phase.INTERRUPTED, Msg("job.cancel_failed", error=err.message))
            return
        credits = await self._final_cost()
        await self._charged(credits)
        await self._publish(Phase.CANCELLED, Msg("job.cancelled_remote"), credits=credits)

    async def _final_cost(self) -> float | None:
        """What the provider charged for the task just cancelled (0 when refunded; None when it does not say)."""
        assert self.task_id is not None
        try:
            return (await self._client.get_task(self.task_id, key=self._key)).cost
        except StudioError:
            return None


async def follow_all(jobs: Sequence[Job]) -> AsyncIterator[list[JobStatus]]:
    """Every take's status, each time one of them changes (starting with them all), until every one has ended."""
    statuses = [job.status for job in jobs]
    changes: asyncio.Queue[tuple[int, JobStatus]] = asyncio.Queue()

    async def pump(index: int, job: Job) -> None:
        async for status in job.follow():
            await changes.put((index, status))

    pumps = [asyncio.create_task(pump(i, job)) for i, job in enumerate(jobs)]
    try:
        yield list(statuses)
        while not all(s.final for s in statuses):
            index, status = await changes.get()
            statuses[index] = status
            while not changes.empty():  # several changed at once: show them together
                index, status = changes.get_nowait()
                statuses[index] = status
            yield list(statuses)
    finally:
        for task in pumps:
            task.cancel()


def _finished_clip(form: Mapping[str, object]) -> str:
    """The clip an Add sound pass was made for, as its form kept it: the kept file, else its https link. Raises
    DownloadError when neither is left (its input was removed meanwhile)."""
    given = form.get("video")
    if isinstance(given, Mapping):
        path, url = given.get("path"), given.get("url")
        if isinstance(path, str) and path and Path(path).is_file():
            return path
        if isinstance(url, str) and url.strip():
            return url.strip()
    raise ClipGone(Msg("job.sound_source_gone"))


class ClipGone(DownloadError):
    """The clip an Add sound pass was made for is no longer kept (and had no link): its sound cannot be added."""
