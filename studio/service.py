"""The studio's service layer, the only thing the UI calls: one call per visitor action.

    job = await studio.submit(form, provider="simulator", visitor=v, visitor_key=None)   # InvalidInput: not sent
    async for status in job.follow(): ...

``submit`` does the whole sequence: the key (a missing key is reported together with the form's own problems),
the cheap checks, the media, the code snippet, the spend guard and the history row, then the create call. The
history row is written before the create call is sent; the reconciler (``lifespan``) resumes every task that is
not finished, at start-up and every third of a lease's TTL, whether or not anyone is watching.

Replicas (several studios on one PostgreSQL history): each unfinished generation is followed by the one replica
holding its lease (``HistoryStore.take_lease``), taken when it is created and renewed while its job follows it; a
replica that stops renewing (it died) is taken over by another's reconciler once its leases expire. The upkeep
(purges, the disk policy) runs in the one replica holding the ``retention`` lease. The spend guard's check and the
rows it counts are written in one transaction that replicas serialize on (``HistoryStore.add_checked``).

What the studio is made of (clients, the embedded simulator, the store) is put together in ``studio.wiring``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import math
import os
import random
import re
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from studio import media
from studio.capabilities import Endpoint, ProviderSpec, foreign_key
from studio.capabilities import provider as provider_spec
from studio.client import Organization, RunwayClient
from studio.codegen import snippets
from studio.compare import SettingRow, settings_diff
from studio.disk import DAY_S, LOW_WATER, DiskPolicy, file_bytes, keep_input, kept_inputs, size_of, trim_folder
from studio.errors import FieldIssue, InvalidInput, StudioError
from studio.forms import Fit, Form, MediaInput, Prepared, check_form, prepare_blocking
from studio.history import (
    LEASE_TTL_S,
    RETENTION_LEASE,
    Generation,
    HistoryFilter,
    HistoryPage,
    HistoryStore,
    NewGeneration,
    following,
)
from studio.i18n import Label, Message, Msg
from studio.jobs import MAY_EXIST_CODE, Job, JobStatus, Lease, SharedUploads
from studio.links import FileLinks, link_key, sniff_file
from studio.phases import Phase
from studio.pricing import Estimate, estimate, output_seconds
from studio.spend import SpendGuard, SpendPolicy
from studio.storage import FileStore, LocalStore, StorageError
from studio.storyboards import ENDPOINT as STORYBOARD
from studio.storyboards import Storyboards
from studio.vault import named_copy

log = logging.getLogger(__name__)

MAX_TAKES = 4  # generations one press may send (each with its own seed)
KeySource = Literal["simulator", "server key", "your key"]
SIMULATOR_KEY = "simulator"  # the simulator takes any Bearer key; this one is not a secret
JOB_RETENTION_S = 3600.0  # a finished job stays reachable (for its page to re-attach) this long
UPKEEP_EVERY_S = 60.0  # purges and the disk policy run this often (in the replica holding the retention lease)
BALANCE_EVERY_S = 60.0  # the account's balance is asked for at most this often per key
WORKER_THREADS = 32
UNDO_S = 8.0  # a deleted generation can be brought back this long; then its row and files are purged
PAGE_SIZE = 24  # generations on a page of History
COMPARE_MAX = 4  # clips History compares side by side


@dataclass(frozen=True)
class Comparison:
    """A few of a visitor's generations side by side, and their settings row by row (what differs marked)."""

    generations: list[Generation]
    rows: list[SettingRow]


@dataclass(frozen=True)
class Reuse:
    """What "Reuse settings" fills in: the form (its tab is its endpoint) and the generation it came from."""

    form: Form
    generation_id: str

    @property
    def endpoint(self) -> str:
        return self.form.endpoint


class Studio:
    """Provider clients, input preparation, live jobs, and the history of every visitor."""

    def __init__(
        self,
        *,
        clients: Mapping[str, RunwayClient],
        server_provider: str,
        server_key: str,
        data_dir: Path,
        history: HistoryStore | None = None,
        spend: SpendPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        code_base_urls: Mapping[str, str] | None = None,
        simulator_app: Any = None,
        undo_s: float = UNDO_S,
        forget_copies: Callable[[Path], None] | None = None,
        disk: DiskPolicy | None = None,
        store: FileStore | None = None,
        replica_id: str | None = None,
        lease_ttl_s: float = LEASE_TTL_S,
        link_secret: str = "",
    ) -> None:
        self.clients = clients
        # Who this replica is in the leases it holds, and how long they last unless renewed.
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease_ttl_s = lease_ttl_s
        self._upkept_at: float | None = None  # when this replica last ran the upkeep (its clock)
        self.server_provider = server_provider
        self._server_key = server_key
        self.data_dir = data_dir
        self.outputs, self.inputs, self.workdir = data_dir / "outputs", data_dir / "inputs", data_dir / "work"
        for folder in (self.outputs, self.inputs, self.workdir):
            folder.mkdir(parents=True, exist_ok=True)
        self.named = self.outputs / "named"  # clips under their download names (served: outputs is allowed)
        # Where the files are kept for every replica (``studio.storage``): the data dir alone, or a bucket it caches.
        self.store: FileStore = store or LocalStore()
        # The studio's own file route: signed, expiring links to the outputs and kept inputs (``studio.links``).
        key = link_key(data_dir, secret=link_secret)  # STUDIO_SECRET, when set
        self.links = FileLinks(key=key, data_dir=data_dir, folders=(self.outputs, self.inputs), store=self.store)
        self._input_key = hashlib.sha256(b"kept input names\0" + key).digest()  # its own key, derived
        # Copies of a file kept elsewhere (Gradio's cache): removed with the file on Delete (set by the page).
        self.forget_copies = forget_copies
        self.undo_s = undo_s
        self.disk = disk or DiskPolicy()  # retention and Gradio's upload folder (``keep_disk_bounded``)
        # The upload folder's files never trimmed: the page's own (studio.ui.app sets it once the page is built).
        self.keep_uploads: Callable[[], Collection[str]] = tuple
        self.history = history or HistoryStore(data_dir / "history.sqlite3")
        self.guard = SpendGuard(spend or SpendPolicy(), self.history)
        self._start_lock = asyncio.Lock()  # the spend check and the history row it counts go in together
        # Image and video work is CPU-bound: running more at once than there are cores finishes no sooner and
        # holds more decoded pixels (bench/memory.py: a 100-visitor burst tripled the idle RSS).
        self.media_gate = asyncio.Semaphore(os.cpu_count() or 2)
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self._live: dict[str, Job] = {}  # generation id -> job
        self._starting: set[str] = set()  # generations recorded by a press whose jobs are not made yet
        self._latest: dict[tuple[str, str], tuple[str, ...]] = {}  # (visitor, endpoint) -> its takes' generations
        # The base URL copy-as-code shows per provider (a standalone simulator's for the embedded one).
        self._code_base_urls = dict(code_base_urls or {})
        self.simulator_app = simulator_app  # the embedded simulator (tests read its task counters)
        self._balances: dict[tuple[str, str], tuple[float, Organization | None]] = {}  # (provider, key hash)
        self.storyboards = Storyboards(self)

    def code_base_url(self, provider: str) -> str:
        """The base URL shown in copy-as-code."""
        return self._code_base_urls.get(provider) or provider_spec(provider).base_url

    # --- keys ------------------------------------------------------------------------------------------------

    def key_for(self, provider_name: str, visitor_key: str | None) -> tuple[str, KeySource]:
        """The key to use and where it came from. Raises InvalidInput when a real provider has none."""
        if provider_spec(provider_name).simulated:
            return SIMULATOR_KEY, "simulator"
        if visitor_key and visitor_key.strip():
            spec = provider_spec(provider_name)
            owner = foreign_key(spec, visitor_key)
            if owner is not None:
                message = Msg(
                    "key.other_provider", owner=Label(owner.label), prefix=owner.key_prefix, provider=Label(spec.label)
                )
                raise InvalidInput(FieldIssue("API key", message))
            return visitor_key.strip(), "your key"
        if self._server_key and provider_name == self.server_provider:
            self.guard.check_key("server key")  # a host may require every visitor to bring their own key
            return self._server_key, "server key"
        label = Label(provider_spec(provider_name).label)
        raise InvalidInput(FieldIssue("API key", Msg("key.needed", provider=label)))

    def key_source(self, provider_name: str, visitor_key: str | None) -> str:
        try:
            return self.key_for(provider_name, visitor_key)[1]
        except InvalidInput:
            return "none"

    # --- submitting -------------------------------------------------------------------------------------------

    async def submit(
        self,
        form: Form,
        *,
        provider: str,
        visitor: str,
        visitor_key: str | None,
        parent_id: str | None = None,
        address: str | None = None,
    ) -> Job:
        """Check, prepare and send one generation; the job follows it. Raises InvalidInput (nothing was sent):
        a missing key is reported together with the form's own problems, not instead of them. ``address``: the
        client's (``studio.identity``), whose spending the visitor cap also counts; None for a signed-in account."""
        jobs = await self.submit_takes(
            form,
            takes=1,
            provider=provider,
            visitor=visitor,
            visitor_key=visitor_key,
            parent_id=parent_id,
            address=address,
        )
        return jobs[0]

    async def submit_takes(
        self,
        form: Form,
        *,
        takes: int,
        provider: str,
        visitor: str,
        visitor_key: str | None,
        parent_id: str | None = None,
        address: str | None = None,
    ) -> list[Job]:
        """``submit`` for ``takes`` generations of one form, each with its own seed (the form's seed, then the next
        ones; or each chosen at random): the media are prepared once and the spend guard counts every take."""
        if not 1 <= takes <= MAX_TAKES:
            raise InvalidInput(FieldIssue("Takes", Msg("req.takes", most=MAX_TAKES, value=takes), path=("takes",)))
        try:
            key, source = self.key_for(provider, visitor_key)
        except InvalidInput as missing:
            try:
                await asyncio.to_thread(check_form, form, provider=provider_spec(provider))
            except InvalidInput as more:
                raise InvalidInput(missing.issues + more.issues) from None
            raise
        seeds = self._seeds(form, takes, provider_spec(provider))
        prepared = await self.prepare(form.replace(seed=seeds[0]), provider=provider)
        return await self.start_takes(
            [prepared.with_seed(seed) for seed in seeds],
            visitor=visitor,
            key=key,
            key_source=source,
            parent_id=parent_id,
            address=address,
        )

    def _seeds(self, form: Form, takes: int, spec: ProviderSpec) -> list[int | None]:
        """Each take's seed: the given one and the ones after it (wrapping within the provider's range), or random;
        none for a model that takes no seed (the upscaler)."""
        if not _takes_seed(form, spec):
            return [None] * takes
        first = form.seed
        low, high = spec.limits.seed_min, spec.limits.seed_max
        if first is None:
            return [self._rng.randint(low, high) for _ in range(takes)]
        return [first, *(low + (first - low + i) % (high - low + 1) for i in range(1, takes))]  # the first is checked

    # ``submit``'s two halves, public for what times or inspects them (bench/submit_overhead.py, tests).

    async def prepare(self, form: Form, *, provider: str) -> Prepared:
        """Check every field, then prepare the media off the event loop. Raises InvalidInput; nothing is sent."""
        spec = provider_spec(provider)
        if form.seed is None and _takes_seed(form, spec):  # "random": chosen here so it can be reported and reused
            form = form.replace(seed=self._rng.randint(spec.limits.seed_min, spec.limits.seed_max))
        async with self.media_gate:
            return await asyncio.to_thread(prepare_blocking, form, provider=spec, workdir=self.workdir)

    async def start(
        self, prepared: Prepared, *, visitor: str, key: str, key_source: str, parent_id: str | None = None
    ) -> Job:
        """Record the generation, then send it. The history row exists before the create call is made.

        Raises InvalidInput (SpendRefused) when the spend guard refuses it; then nothing is recorded or sent.
        """
        jobs = await self.start_takes([prepared], visitor=visitor, key=key, key_source=key_source, parent_id=parent_id)
        return jobs[0]

    async def start_takes(
        self,
        takes: Sequence[Prepared],
        *,
        visitor: str,
        key: str,
        key_source: str,
        parent_id: str | None = None,
        address: str | None = None,
    ) -> list[Job]:
        """``start`` for the takes of one form (prepared alike but for their seeds): the spend guard checks them
        together, and inputs to upload are uploaded once for all of them."""
        first = takes[0]
        self._forget_old_jobs()
        news = [
            NewGeneration(
                visitor=visitor,
                provider=p.provider.name,
                endpoint=p.request.endpoint,
                model=p.request.model,
                form={},
                estimated_credits=p.estimate.credits,
                key_source=key_source,
                seed=p.request.seed,
                output_seconds=p.estimate.seconds,
                parent_id=parent_id,
                address=address,
            )
            for p in takes
        ]
        kept = await asyncio.to_thread(self._keep_inputs, first.form)
        for new, p in zip(news, takes, strict=True):
            new.form = kept.replace(seed=p.form.seed).to_dict()  # the takes share the first one's kept inputs
        refused: InvalidInput | None = None
        check = functools.partial(
            self.guard.check,
            visitor=visitor,
            model=first.request.model,
            credits=sum(p.estimate.credits for p in takes),
            key_source=key_source,
            address=address,
        )
        self._starting.update(new.id for new in news)  # the reconciler leaves them to this press
        try:
            async with self._start_lock:  # and kept inputs: a purge of a shared input waits for this press
                if not await asyncio.to_thread(self._inputs_present, kept):  # purged meanwhile: shared with another
                    kept = await asyncio.to_thread(self._keep_inputs, first.form)
                    for new, p in zip(news, takes, strict=True):
                        new.form = kept.replace(seed=p.form.seed).to_dict()
                try:  # the check and the rows it counts, in one transaction every replica serializes on
                    await self.history.run(
                        self.history.add_checked, news, check, owner=self.replica_id, lease_s=self.lease_ttl_s
                    )
                except InvalidInput as err:
                    refused = err
            if refused is not None:
                await self._forget_inputs(json.dumps(news[0].form))  # kept for nothing, unless another uses them
                raise refused
            if parent_id is not None and first.request.endpoint == "image_to_video":  # Continue: the first take joins
                try:  # the storyboards the clip is in; never at the cost of the press itself
                    await self.storyboards.continued(visitor, parent_id, news[0].id)
                except Exception:
                    log.exception("could not add generation %s to its parent's storyboards", news[0].id)
            notes = first.notes + await self._budget_note(visitor, key_source, address)
            uploads = SharedUploads(self.clients[first.provider.name], key, first.uploads) if first.uploads else None
            jobs = [
                self._job(
                    new.id,
                    endpoint=p.request.endpoint,
                    provider=p.provider.name,
                    key=key,
                    visitor=visitor,
                    request=p.request,
                    estimate=p.estimate,
                    seed=p.request.seed,
                    notes=notes,
                    code=snippets(
                        base_url=self.code_base_url(p.provider.name), endpoint=p.form.endpoint, body=p.request.to_wire()
                    ),
                    uploads=uploads,
                )
                for new, p in zip(news, takes, strict=True)
            ]
        finally:
            self._starting.difference_update(new.id for new in news)
        self._latest[(visitor, first.request.endpoint)] = tuple(job.generation_id for job in jobs)
        if key_source == "your key":
            await self._resume_waiting(visitor=visitor, provider=first.provider.name, key=key)
        return jobs

    async def budget_text(self, visitor: str, address: str | None = None) -> Message:
        """What the server key may still spend today for this visitor ('' when no cap is set)."""
        if not self.guard.policy.caps_spending or not self._server_key:
            return ""
        budget = await self.history.run(self.guard.budget, visitor, address)
        return budget.describe(dt.datetime.now(dt.timezone.utc))

    async def _budget_note(self, visitor: str, key_source: str, address: str | None) -> tuple[Message, ...]:
        text = await self.budget_text(visitor, address) if key_source == "server key" else ""
        return (text,) if text else ()

    def _keep_inputs(self, form: Form) -> Form:
        """Keep the uploads in the data dir (Gradio's temp files do not last), so settings can be reused: each
        stored once by its content (``studio.disk.keep_input``), however many generations send it, under a name
        from a keyed hash of its bytes (unguessable) and an ending from what its bytes are (never the uploaded
        name's)."""
        kept: dict[str, MediaInput] = {}
        for name, given in form.media().items():
            if given.path and Path(given.path).is_file():
                source = Path(given.path)
                dest = keep_input(source, self.inputs, key=self._input_key, ending=sniff_file(source)[1])
                self.store.put(dest)  # for Reuse on every replica
                kept[name] = MediaInput(path=str(dest), url=given.url)
        return form.with_media(kept)

    @staticmethod
    def _inputs_present(form: Form) -> bool:
        return all(Path(given.path).is_file() for given in form.media().values() if given.path)

    def _track(self, job: Job, visitor: str) -> None:
        self._live[job.generation_id] = job
        self._latest[(visitor, job.endpoint)] = (job.generation_id,)

    def _forget_old_jobs(self) -> None:
        """Drop the jobs nobody can reach any more, so a long-running public studio does not grow with its work.

        A page re-attaches only to its visitor's latest job on a tab, so an ended job is kept only while it is that
        latest one, and then for JOB_RETENTION_S. Everything an ended job knew is in history.
        """
        cutoff = self._clock() - JOB_RETENTION_S
        latest = {gid for gids in self._latest.values() for gid in gids}
        for gid in [
            gid
            for gid, job in self._live.items()
            if job.ended_at is not None and (gid not in latest or job.ended_at < cutoff)
        ]:
            del self._live[gid]
        self._latest = {
            k: kept for k, gids in self._latest.items() if (kept := tuple(g for g in gids if g in self._live))
        }

    # --- following -------------------------------------------------------------------------------------------

    @property
    def jobs_in_memory(self) -> int:
        """How many jobs the studio holds (running ones, plus each visitor's latest ended one per tab for a while)."""
        return len(self._live)

    def live_jobs(self, *, visitor: str, endpoint: str) -> list[Job]:
        """The visitor's latest generation on this tab (one job per take), those still in memory."""
        return [self._live[gid] for gid in self._latest.get((visitor, endpoint), ()) if gid in self._live]

    def live_job(self, *, visitor: str, endpoint: str) -> Job | None:
        """The first take of the visitor's latest generation on this tab, if it is still in memory."""
        return next(iter(self.live_jobs(visitor=visitor, endpoint=endpoint)), None)

    async def cancel(self, *, visitor: str, endpoint: str) -> list[JobStatus]:
        """Cancel every take of the visitor's latest generation on this tab still running; their statuses."""
        jobs = self.live_jobs(visitor=visitor, endpoint=endpoint)
        await asyncio.gather(*(job.cancel() for job in jobs))
        return [job.status for job in jobs]

    # --- the reconciler ---------------------------------------------------------------------------------------

    async def reconcile(self) -> int:
        """Renew this replica's leases, then resume every unfinished generation that no job follows, of those whose
        lease this replica can take (none another live replica holds). Returns how many were resumed."""
        await self.renew_leases()
        resumed = 0
        unfinished = await self.history.run(self.history.unfinished)
        mine = [g for g in unfinished if not self._following(g.id) and await self._claim(g.id)]
        await self.storyboards.end_interrupted(mine)  # an export is rendered here: it cannot be resumed
        for generation in mine:
            if generation.endpoint == STORYBOARD:
                continue
            if await self._resume(generation):
                resumed += 1
            elif not self._following(generation.id):
                # Not followed here (a visitor's own key, which is never stored): another replica may, when the
                # visitor comes back to it with their key.
                await self.history.run(self.history.release_lease, following(generation.id), owner=self.replica_id)
        return resumed

    def _following(self, generation_id: str) -> bool:
        """A job (or an export's render) of this replica follows it now."""
        job = self._live.get(generation_id)
        busy = generation_id in self._starting or generation_id in self.storyboards.exporting
        return busy or (job is not None and not job.status.final)

    async def _claim(self, generation_id: str) -> bool:
        """Take (or keep) the lease on following a generation: False while another replica holds it."""
        return await self.history.run(
            self.history.take_lease, following(generation_id), owner=self.replica_id, ttl_s=self.lease_ttl_s
        )

    async def renew_leases(self) -> None:
        """Renew the leases of what this replica follows (the jobs renew theirs as they poll too; this also covers
        a task polled less often than the TTL, and exports being rendered)."""
        ids = [gid for gid, job in self._live.items() if not job.status.final] + sorted(self.storyboards.exporting)
        for gid in ids:
            await self.history.run(
                self.history.renew_lease, following(gid), owner=self.replica_id, ttl_s=self.lease_ttl_s
            )

    async def _resume(self, generation: Generation, *, key: str | None = None) -> bool:
        if generation.task_id is None and generation.status == Phase.UPLOADING:
            # The studio stopped while uploading an input: nothing was created, nothing is charged.
            reason = Msg("job.stopped_while_uploading")
            await self.history.run(self.history.record, generation.id, Phase.FAILED, failure_reason=reason)
            return False
        if generation.task_id is None:
            # The studio stopped while the create call was in flight: the task may exist, but its id is unknown.
            reason = Msg("job.stopped_while_sending")
            await self.history.run(
                self.history.record, generation.id, Phase.FAILED, failure_code=MAY_EXIST_CODE, failure_reason=reason
            )
            return False
        key = key or self._resume_key(generation)
        if key is None or generation.provider not in self.clients:
            return False  # a visitor's own key is never stored: it resumes when they come back with it
        self._job(
            generation.id,
            endpoint=generation.endpoint,
            provider=generation.provider,
            key=key,
            visitor=generation.visitor,
            task_id=generation.task_id,
            seed=generation.seed,
            estimate=Estimate(generation.estimated_credits or 0, generation.output_seconds or 0),
            born_at=generation.created_at,
            seen=Phase(generation.status).seen_by_provider,
        )
        return True

    def _job(self, generation_id: str, *, endpoint: str, provider: str, key: str, visitor: str, **details: Any) -> Job:
        lease = Lease(
            self.history, following(generation_id), self.replica_id, self.lease_ttl_s, self._clock, self._clock()
        )
        """A job for a generation (a new one with its ``request``, or one resumed by its ``task_id``), tracked."""
        job = Job(
            generation_id=generation_id,
            endpoint=endpoint,
            client=self.clients[provider],
            key=key,
            history=self.history,
            outputs=self.outputs,
            clock=self._clock,
            media_gate=self.media_gate,
            store=self.store,
            lease=lease,
            **details,
        )
        self._track(job, visitor)
        return job

    def _resume_key(self, generation: Generation) -> str | None:
        if generation.key_source == "simulator":
            return SIMULATOR_KEY
        if generation.key_source == "server key" and generation.provider == self.server_provider and self._server_key:
            return self._server_key
        return None

    async def _resume_waiting(self, *, visitor: str, provider: str, key: str) -> None:
        """A visitor's key is back: resume their unfinished tasks that were made with their own key."""
        for generation in await self.history.run(self.history.unfinished):
            if (
                generation.visitor == visitor
                and generation.provider == provider
                and generation.key_source == "your key"
            ) and (not self._following(generation.id) and await self._claim(generation.id)):
                await self._resume(generation, key=key)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Run the reconciler for as long as the server runs (Gradio's app lifespan).

        Also gives the loop a larger default thread pool: asyncio's default (CPU count + 4) would make a hundred
        visitors' short file and image steps queue behind each other's slow ones.
        """
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="studio"))
        task = loop.create_task(self._reconcile_forever())
        try:
            yield
        finally:
            task.cancel()

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self.reconcile()
                await self.upkeep()
            except Exception:
                log.exception("reconciling history failed")
            await asyncio.sleep(self.reconcile_every_s)

    @property
    def reconcile_every_s(self) -> float:
        """The reconciler's period: a third of the lease TTL, so leases are renewed in time, and a dead replica's
        generations are taken over soon after its leases expire."""
        return self.lease_ttl_s / 3

    async def upkeep(self) -> bool:
        """Purge the deletes whose undo window passed, and apply the disk policy, every UPKEEP_EVERY_S (and at
        start-up), in the one replica holding the ``retention`` lease (taken, or renewed, here). True when it ran."""
        if not await self.history.run(
            self.history.take_lease,
            RETENTION_LEASE,
            owner=self.replica_id,
            ttl_s=max(self.lease_ttl_s, UPKEEP_EVERY_S * 2),
        ):
            return False
        if self._upkept_at is not None and self._clock() - self._upkept_at < UPKEEP_EVERY_S:
            return False
        self._upkept_at = self._clock()
        await self.purge_deleted()  # also at start-up: deletes whose undo window passed while stopped
        await self.keep_disk_bounded()
        return True

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    # --- history ------------------------------------------------------------------------------------------------

    async def history_of(self, visitor: str) -> list[Generation]:
        return await self.history.run(self.history.for_visitor, visitor)

    async def history_page(
        self, visitor: str, *, where: HistoryFilter | None = None, page: int = 0, size: int = PAGE_SIZE
    ) -> HistoryPage:
        """Page ``page`` (from 0) of a visitor's History, newest first; a page past the end gives the last one."""
        found = await self.history.run(self.history.page, visitor, where=where, offset=page * size, size=size)
        last = max(0, (found.total - 1) // size)
        if page > last:
            found = await self.history.run(self.history.page, visitor, where=where, offset=last * size, size=size)
        return found

    async def history_models(self, visitor: str) -> list[str]:
        return await self.history.run(self.history.models_of, visitor)

    async def generation(self, generation_id: str, *, visitor: str) -> Generation | None:
        return await self.history.run(self.history.get, generation_id, visitor=visitor)

    async def lineage(self, generation_id: str, *, visitor: str) -> list[Generation]:
        return await self.history.run(self.history.lineage, generation_id, visitor=visitor)

    async def reuse(self, generation_id: str, *, visitor: str) -> Reuse | None:
        """The form a generation was made with, inputs included (from the copies in the data dir)."""
        found = await self.generation(generation_id, visitor=visitor)
        if found is None or found.endpoint == STORYBOARD:  # a storyboard's export is reopened, not refilled
            return None
        form = Form.from_dict(found.endpoint, found.form)  # type: ignore[arg-type]
        gone = {  # an input the retention policy removed is left out: the visitor picks it again
            name: MediaInput(url=given.url)
            for name, given in form.media().items()
            if given.path and not await self.local_file(given.path)
        }
        return Reuse(form.with_media(gone) if gone else form, found.id)

    async def star(self, generation_id: str, *, visitor: str, starred: bool) -> bool:
        """Star or unstar a visitor's own generation."""
        return await self.history.run(self.history.set_starred, generation_id, visitor=visitor, starred=starred)

    async def delete(self, generation_id: str, *, visitor: str) -> Generation | None:
        """Delete a visitor's own generation: hidden at once, restorable (``restore``) for ``undo_s`` seconds, then
        purged with its files (a task still running is cancelled then). Returns what was deleted."""
        return await self.history.run(self.history.soft_delete, generation_id, visitor=visitor)

    async def restore(self, generation_id: str, *, visitor: str) -> bool:
        """Undo a delete whose generation was not purged yet."""
        return await self.history.run(self.history.restore, generation_id, visitor=visitor)

    async def purge_deleted(
        self, *, visitor: str | None = None, generation_id: str | None = None, at_once: bool = False
    ) -> int:
        """Purge the generations deleted more than ``undo_s`` ago (with ``generation_id``, only that one of the
        visitor's); ``at_once``: even if its undo window is still open (its Undo was replaced by a later one).
        Returns how many were purged."""
        cutoff = math.inf if at_once else self.history.now() - self.undo_s
        due = await self.history.run(self.history.deleted_before, cutoff, visitor=visitor)
        purged = 0
        for generation in due:
            if generation_id in (None, generation.id) and await self._purge(generation):
                purged += 1
        return purged

    async def undo_left(self, generation_id: str, *, visitor: str) -> float | None:
        """Seconds left to undo the visitor's delete of ``generation_id`` (None: not deleted, or gone for good)."""
        found = await self.history.run(self.history.get, generation_id)
        if found is None or found.visitor != visitor or found.deleted_at is None or found.purged_at is not None:
            return None
        return max(0.0, found.deleted_at + self.undo_s - self.history.now())

    async def _purge(self, generation: Generation) -> bool:
        if not await self.history.run(self.history.purge, generation.id):
            return False  # restored meanwhile
        job = self._live.pop(generation.id, None)
        if job is not None and not job.status.final:
            await job.cancel()
        await asyncio.to_thread(self._delete_files, generation)
        await self._forget_inputs(json.dumps(generation.form), generation.id)
        await self._forget_upstream(generation)
        return True

    async def _forget_inputs(self, form_json: str, generation_id: str | None = None) -> int:
        """Remove the kept inputs a form names that no kept generation mentions any more (the takes of one press,
        and every generation of the same image, share one file). Returns the bytes freed."""
        freed = 0
        async with self._start_lock:  # a submit of the same image checks for its file under this lock
            for path in kept_inputs(form_json, self.inputs):
                if not await self.history.run(self.history.mentions, str(path)):
                    freed += file_bytes(path)
                    self._forget_copies(path)  # and Gradio's copy of it (Reuse puts inputs back on the page)
                    await asyncio.to_thread(path.unlink, missing_ok=True)
                    await asyncio.to_thread(self._unstore, path)
            if generation_id is not None:  # kept before inputs were stored by content: a folder per generation
                for folder in self._input_folders(generation_id, form_json):
                    if folder.is_dir() and not await self.history.run(self.history.mentions, str(folder) + os.sep):
                        freed += await asyncio.to_thread(size_of, folder)
                        self._forget_copies(*folder.iterdir())
                        await asyncio.to_thread(shutil.rmtree, folder, True)
        return freed

    async def _forget_upstream(self, generation: Generation) -> None:
        """Delete a simulated generation's task, so the simulator's own copy of the clip goes too (a real provider's
        copy expires with its link)."""
        client = self.clients.get(generation.provider)
        key = self._resume_key(generation)
        if client is None or key is None or not generation.task_id or not provider_spec(generation.provider).simulated:
            return
        try:
            await client.cancel_task(generation.task_id, key=key)
        except StudioError:
            log.info("the simulator did not delete task %s", generation.task_id)

    def _input_folders(self, generation_id: str, form_json: str) -> set[Path]:
        """The folders of inputs kept per generation (before they were stored by content): its own, and the one
        its form's files are in."""
        marker = re.escape(str(self.inputs) + os.sep)
        found = re.findall(marker + r"([A-Za-z0-9_-]+)" + re.escape(os.sep), form_json)
        return {self.inputs / generation_id, *(self.inputs / name for name in found)}

    def _delete_files(self, generation: Generation) -> int:
        """Remove a generation's clip, poster, last frame, audio file (Add sound) and named copy (from the store too).
        Returns the bytes freed here."""
        freed = 0
        files = (generation.output_path, generation.poster_path, generation.audio_path)
        self._unstore(*(Path(path) for path in files if path), folder=self._named_folder(generation.id))
        for path in files:
            if path:
                freed += file_bytes(path, Path(path).with_suffix(".last.png"))
                self._forget_copies(Path(path), Path(path).with_suffix(".last.png"))
                Path(path).unlink(missing_ok=True)
                Path(path).with_suffix(".last.png").unlink(missing_ok=True)  # "use last frame as first frame"
                if Path(path).parent != self.outputs:  # a clip kept under its name, in a folder of its own
                    with contextlib.suppress(OSError):
                        Path(path).parent.rmdir()
        named = self._named_folder(generation.id)
        if named.is_dir():
            self._forget_copies(*named.iterdir())
        freed += size_of(named)
        shutil.rmtree(named, ignore_errors=True)
        return freed

    def _unstore(self, *paths: Path, folder: Path | None = None) -> None:
        """Remove files (and a folder's) from the shared store. What it cannot remove is left there and logged: the
        row that named it is purged already, and the local copies still go."""
        try:
            self.store.delete(*paths)
            if folder is not None:
                self.store.delete_folder(folder)
        except StorageError as err:
            log.warning("files left in the shared store: %s", err)

    def _forget_copies(self, *paths: Path) -> None:
        """Remove the copies kept elsewhere (Gradio's cache) of the files at ``paths``, those that exist."""
        for path in paths:
            if self.forget_copies is not None and path.is_file():
                self.forget_copies(path)

    def _named_folder(self, generation_id: str) -> Path:
        """The folder of a generation's clip under its download name: unguessable (144 bits), found again."""
        return self.named / self.links.secret_name(generation_id)

    # --- bounded disk ---------------------------------------------------------------------------------------

    async def keep_disk_bounded(self, *, now: float | None = None) -> int:
        """Apply the disk policy (``studio.disk.DiskPolicy``): remove the files of generations older than the
        retention, then of the oldest ones while the data dir is over its budget (never a running or starred
        generation's; the row stays, marked removed), and trim Gradio's upload folder. ``now`` is the history's
        clock by default. Returns how many generations' files were removed."""
        now = self.history.now() if now is None else now
        policy = self.disk
        removed = 0
        if policy.retention_days is not None:
            cutoff = now - policy.retention_days * DAY_S
            while due := await self.history.run(self.history.retention_candidates, made_before=cutoff):
                for generation in due:
                    removed += await self._retire(generation) is not None
                if len(due) < 200:
                    break
        if policy.max_data_bytes is not None and self.store.shared:
            await self._trim_cache(policy.max_data_bytes)
        elif (
            policy.max_data_bytes is not None
            and await asyncio.to_thread(size_of, self.data_dir) > policy.max_data_bytes
        ):
            await self.history.run(self.history.compact)  # the history's write-ahead log back to nothing first
            budget = int(policy.max_data_bytes * LOW_WATER)  # so that the clips of the next minute fit under it
            # Measured again after each round: clips keep arriving while files are removed.
            while (used := await asyncio.to_thread(size_of, self.data_dir)) > budget:
                due = await self.history.run(self.history.retention_candidates, limit=50)
                if not due:
                    log.warning("the data dir is over STUDIO_MAX_DATA_GB, with nothing left the policy may remove")
                    break
                for generation in due:
                    freed = await self._retire(generation)
                    if freed is not None:
                        removed, used = removed + 1, used - freed
                    if used <= budget:
                        break
        if policy.upload_dir is not None and policy.upload_dir.is_dir():
            await asyncio.to_thread(
                trim_folder,
                policy.upload_dir,
                now=time.time(),  # file times are wall-clock times
                max_age_s=policy.upload_max_age_s,
                max_bytes=policy.upload_max_bytes,
                keep=set(self.keep_uploads()),
            )
        return removed

    async def _trim_cache(self, max_bytes: int) -> None:
        """With a shared store the data dir's clips and inputs are copies: over the budget, the oldest copies go
        (from here only; they are fetched again when asked for) until the data dir is under LOW_WATER of it."""
        used = await asyncio.to_thread(size_of, self.data_dir)
        if used <= max_bytes:
            return
        cached = sum([await asyncio.to_thread(size_of, folder) for folder in (self.outputs, self.inputs)])
        budget = max(0, int(max_bytes * LOW_WATER) - (used - cached))  # the history and keys stay
        await asyncio.to_thread(
            trim_folder, (self.outputs, self.inputs), now=time.time(), max_age_s=None, max_bytes=budget
        )

    async def _retire(self, generation: Generation) -> int | None:
        """Remove one generation's files for the retention policy and mark its row; the bytes freed, or None when
        it was starred, deleted or reopened meanwhile."""
        if not await self.history.run(self.history.mark_removed, generation.id):
            return None
        freed = await asyncio.to_thread(self._delete_files, generation)
        freed += await self._forget_inputs(json.dumps(generation.form), generation.id)
        await self._forget_upstream(generation)
        return freed

    async def download_path(self, generation_id: str, *, visitor: str) -> Path | None:
        """The visitor's own clip under its download name (``studio.vault.download_name``), in a folder of the data
        dir that is served; None when the generation is not theirs or has no clip."""
        found = await self.generation(generation_id, visitor=visitor)
        if found is None or not found.output_path or not await self.local_file(found.output_path):
            return None
        folder = self._named_folder(found.id)
        made_before = await asyncio.to_thread(folder.is_dir)
        try:
            named = await asyncio.to_thread(named_copy, found, folder=folder)
        except FileNotFoundError:
            return None
        if named.parent == folder and not made_before:  # a link to it may be asked of another replica
            await asyncio.to_thread(self.store.put, named)
        return named

    async def local_file(self, path: str | Path | None) -> Path | None:
        """A file of the data dir (a clip, a poster, a kept input, as a history row names it) ready to read here:
        fetched from the shared store when this replica has no copy of it. None when neither has it. Whatever
        reads a clip another replica may have made (Reuse, downloads, storyboard exports, finishing passes) asks
        this first."""
        if not path:
            return None
        return Path(path) if await asyncio.to_thread(self.store.ensure, Path(path)) else None

    async def compare(self, generation_ids: list[str], *, visitor: str) -> Comparison:
        """Up to COMPARE_MAX of the visitor's own generations (others' ids are left out) and their settings."""
        found = [await self.generation(gid, visitor=visitor) for gid in generation_ids[:COMPARE_MAX]]
        mine = [g for g in found if g is not None]
        return Comparison(mine, await asyncio.to_thread(settings_diff, mine))

    def owns_file(self, path: str, *, visitor: str) -> bool:
        return self.history.owns_file(path, visitor=visitor)

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
        await self.local_file(video)
        return await asyncio.to_thread(media.save_last_frame, video, video.with_suffix(".last.png"))

    def cost(
        self,
        *,
        provider: str,
        endpoint: Endpoint,
        model: str,
        duration: int | None = None,
        input_seconds: float | None = None,
        audio: bool | None = None,
        options: Mapping[str, Any] | None = None,
        fps: float | None = None,
    ) -> Estimate | None:
        """The estimate for a model, or None when the length is not known yet (act_two before a reference).
        ``options``: what else the price follows, by wire name (the upscaler's resolution and fpsBoost); ``fps``:
        the input's frame rate, where the price is per frame (an assumed rate when None)."""
        spec = provider_spec(provider).model(model, endpoint)
        if spec is None:
            return None
        seconds = output_seconds(spec, duration=duration, input_seconds=input_seconds)
        return estimate(spec, seconds=seconds, audio=audio, fps=fps, options=options) if seconds else None

    # --- the account ---------------------------------------------------------------------------------------------

    async def balance(self, provider: str, visitor_key: str | None) -> Organization | None:
        """The credit balance and tier limits for the key in use on ``provider`` (None where the provider has no
        such endpoint, no key is available, or it did not answer). Asked at most once a minute per key."""
        if not provider_spec(provider).organization:
            return None
        try:
            key, _ = self.key_for(provider, visitor_key)
        except InvalidInput:
            return None
        cache_key = (provider, hashlib.sha256(key.encode()).hexdigest())  # never the key itself, even in memory maps
        cached = self._balances.get(cache_key)
        if cached is not None and self._clock() - cached[0] < BALANCE_EVERY_S:
            return cached[1]
        try:
            found: Organization | None = await self.clients[provider].organization(key=key)
        except StudioError:
            found = None
        self._balances[cache_key] = (self._clock(), found)
        return found


def _takes_seed(form: Form, spec: ProviderSpec) -> bool:
    """Whether the form's model takes a seed (an unknown model is left for the form's checks to name)."""
    model = spec.model(form.model, form.endpoint)
    return model is None or model.seed
