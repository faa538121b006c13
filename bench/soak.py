"""Soak: N visitors press Generate on Image to Video over and over for M minutes, against a standalone simulator.

Usage, from the repository root::

    python bench/soak.py [--visitors 100] [--minutes 5] [--task-seconds 5] [--seeds 4] [--keep]

What runs (all on 127.0.0.1, all started and stopped by this script):

* the standalone simulator, ``python -m studio.simulator --admin --pending P --running R`` on a free port (its
  ``GET /_simulator/stats`` counts the tasks it created, independently of the studio);
* the studio, ``python app.py`` as it is, with ``STUDIO_PROVIDER=simulator``, ``STUDIO_BASE_URL`` pointing at that
  simulator and a temporary ``STUDIO_DATA_DIR``;
* N visitors speaking Gradio's queue API with raw httpx from one asyncio loop (``harness.gradio_queue``, as in
  ``bench/concurrency.py``): each has its own session, uploads the same small image once (as a browser does), then
  presses Generate on Image to Video, follows the stream to its end, and presses again, until the time is up.

Seeds: every press uses a FIXED seed from a pool of ``--seeds`` seeds; visitor v's k-th press uses seed
``pool[(v + k) % seeds]``. The simulator renders one clip per distinct request, so the pool bounds the render cost
(the pool is rendered once during the warm-up), while consecutive history rows of a visitor differ by seed.

At the end (visitors stopped, a grace period for work still in flight), the studio's history database is read
read-only and compared with what the visitors saw and with the simulator's own count:

* tasks lost: task ids visitors saw that are not ``succeeded`` in history, plus history rows without a task id or
  not in a terminal status;
* tasks duplicated: simulator ``created`` minus the distinct task ids in history, and presses that produced more
  than one history row (per visitor session: rows beyond presses, rows with a task id the visitor never saw, a task
  id in two rows).

The studio's RSS (``/proc/<pid>/status`` VmRSS) is sampled after the warm-up (idle), once every visitor is in (the
moment the last visitor's first generation ended: each page has its session, the concurrency its threads), every
30 s, when the visitors stop, and at the end (idle again, past one of the studio's 10 s memory upkeep ticks). The
goal "flat" is end <= 1.2 x every-visitor-in: memory must not grow with the work done. The step from idle to
every-visitor-in is the working set of N visitors; it is reported per visitor, and the idle-to-end ratio is shown
too. Whatever the results, the script exits 0 (it is a report) and ends with ``GOALS MET`` or ``GOALS NOT MET: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import ROOT
from harness.gradio_queue import Endpoint, Generation, run_event, upload
from harness.image_to_video import DURATION, GENERATE_API, IMAGE, RATIO, generate_endpoint
from harness.machine import CpuMeter, load, machine, proc_mem_mb
from harness.servers import LOOPBACK, Proc, clean_up, start_simulator, start_studio
from harness.stats import percentile

SEED_BASE = 20240601  # the pool is SEED_BASE, SEED_BASE + 1, ...
SEED_SENTINEL = 987654321  # marks the seed's slot in the request data (replaced on every press)
TAGS = re.compile(r"<[^>]+>")
TERMINAL = ("succeeded", "failed", "cancelled", "lost")  # studio.history.TERMINAL (read here without importing it)
RSS_EVERY_S = 30.0
RSS_FLAT_RATIO = 1.20  # the goal: RSS at the end at most this times RSS once every visitor is in
SETTLE_S = 12.0  # before the last reading: past one tick of the studio's memory upkeep (studio.ui.upkeep.TRIM_EVERY_S)
MAX_VISITORS, MAX_MINUTES = 1000, 120.0


# --- what the visitors saw ---------------------------------------------------------------------------------------


@dataclass
class Press:
    visitor: str  # the visitor's session hash
    seed: int
    at_s: float  # when it was pressed, seconds since the soak started
    latency_s: float | None = None  # press -> the end of its stream
    phases: list[str] = field(default_factory=list)
    task_id: str | None = None
    outcome: str = "client error"  # "succeeded" | "failed" | "client error"
    detail: str = ""  # the final status text (failed), or what went wrong (client error)
    updates: int = 0


@dataclass
class Visitor:
    index: int
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    upload: dict[str, Any] | None = None  # the FileData of the image this visitor uploaded
    presses: list[Press] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)  # outside a press (the upload)


@dataclass(frozen=True)
class Seeded:
    """The Generate button's request data (``harness.image_to_video``) and the slot its seed goes in."""

    endpoint: Endpoint
    seed_slot: int


def describe(url: str) -> Seeded:
    """The request data, described with a sentinel seed to find the seed's slot by."""
    endpoint = generate_endpoint(url, seed=SEED_SENTINEL)
    seeds = [i for i, v in enumerate(endpoint.data) if v == SEED_SENTINEL]
    if len(seeds) != 1 or not endpoint.file_slots:
        raise RuntimeError(
            f"cannot find the seed and image slots of {GENERATE_API} (seed slots {seeds}, image slots "
            f"{endpoint.file_slots})"
        )
    return Seeded(endpoint=endpoint, seed_slot=seeds[0])


def text_of(html_value: Any) -> str:
    return re.sub(r"\s+", " ", TAGS.sub(" ", html_value)).strip() if isinstance(html_value, str) else ""


async def press_once(http: Any, base: str, endpoint: Seeded, visitor: Visitor, press: Press, t0: float) -> None:
    """One press of Generate: queue/join, then the session's SSE stream until this event completes."""
    generation = Generation(session=visitor.session)
    slots = {endpoint.seed_slot: press.seed}
    try:
        await run_event(http, base, endpoint.endpoint, generation, file=visitor.upload, slots=slots)
    except Exception as err:
        step = "queue/join" if generation.event_id is None else "the SSE stream"
        detail = str(err) or repr(err.__cause__ or err.__context__)
        raise RuntimeError(f"{type(err).__name__} {detail} during {step}") from err
    finally:
        press.latency_s = time.perf_counter() - t0
        press.phases, press.task_id, press.updates = generation.phases, generation.task_id, generation.updates
    last = generation.phase or "none"
    if not generation.completed:  # an unexpected_error or server_stopped, or the stream closed early
        press.detail = (generation.error or f"the stream ended before the result (last phase {last})")[:300]
    elif generation.error:
        press.outcome, press.detail = "failed", generation.error[:300]
    else:
        press.outcome = "succeeded" if last == "succeeded" else "failed"
        if press.outcome == "failed":
            status = text_of(generation.outputs[0]) if generation.outputs else "no status was streamed"
            press.detail = f"[{last}] {status}"[:300]


async def run_press(
    http: Any, base: str, endpoint: Seeded, visitor: Visitor, seed: int, start: float, timeout_s: float
) -> Press:
    t0 = time.perf_counter()
    press = Press(visitor=visitor.session, seed=seed, at_s=t0 - start)
    try:
        await asyncio.wait_for(press_once(http, base, endpoint, visitor, press, t0), timeout=timeout_s)
    except asyncio.TimeoutError:
        press.outcome, press.detail = "client error", f"no result within {timeout_s:.0f} s"
    except Exception as err:
        press.outcome, press.detail = "client error", str(err)[:300]
    if press.latency_s is None:
        press.latency_s = time.perf_counter() - t0
    visitor.presses.append(press)
    return press


async def ensure_upload(http: Any, base: str, visitor: Visitor, image: bytes, deadline: float) -> bool:
    while visitor.upload is None:
        try:
            visitor.upload = await asyncio.wait_for(upload(http, base, image, IMAGE.name), timeout=60.0)
        except Exception as err:
            visitor.client_errors.append(f"upload: {type(err).__name__} {err}"[:200])
            if time.perf_counter() + 1.0 >= deadline:
                return False
            await asyncio.sleep(1.0)
    return True


# --- the processes ---------------------------------------------------------------------------------------------


def sim_stats(sim_url: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(f"{sim_url}/_simulator/stats", timeout=10.0, trust_env=False)
    response.raise_for_status()
    return dict(response.json())


def folder_mb(path: Path) -> float:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).stat().st_size
    return total / 1e6


# --- the history database, read-only ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    visitor: str
    task_id: str | None
    status: str
    failure: str


def read_history(path: Path) -> list[Row]:
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        rows = db.execute(
            "SELECT id, visitor, task_id, status, COALESCE(failure_code, '') || ' ' || COALESCE(failure_reason, '') "
            "FROM generations"
        ).fetchall()
    finally:
        db.close()
    return [Row(r[0], r[1], r[2], r[3], r[4].strip()) for r in rows]


def open_rows(path: Path) -> int:
    try:
        return sum(1 for row in read_history(path) if row.status not in TERMINAL)
    except sqlite3.Error:
        return -1


# --- the soak ----------------------------------------------------------------------------------------------------


@dataclass
class Soak:
    args: argparse.Namespace
    seeds: list[int]
    pending_s: float
    running_s: float
    warmup: list[Visitor] = field(default_factory=list)
    visitors: list[Visitor] = field(default_factory=list)
    warmup_s: float = 0.0
    run_s: float = 0.0  # the visitors' phase: first press to the last press's end
    grace_s: float = 0.0
    grace_left_open: int = 0
    rss: list[tuple[str, float]] = field(default_factory=list)  # (label, MB) of the studio
    sim_rss: list[tuple[str, float]] = field(default_factory=list)
    loaded: list[tuple[int, float, float]] = field(default_factory=list)  # each 30 s: (presses done, studio MB, sim MB)
    all_in: tuple[float, int, float] | None = None  # (seconds, presses done, studio MB) when every visitor was in
    studio_peak_mb: float = 0.0
    studio_cpu_s: float = 0.0
    sim_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    load_before: str = ""
    load_after: str = ""
    sim_created: int | None = None
    sim_by_endpoint: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    data_mb: float = 0.0
    data_breakdown: dict[str, float] = field(default_factory=dict)
    gradio_tmp_mb: float = 0.0
    sim_out_mb: float = 0.0
    studio_log: list[str] = field(default_factory=list)
    sim_log: list[str] = field(default_factory=list)
    studio_exit: int | None = None
    fatal: str = ""


def seed_for(pool: list[int], visitor: int, press: int) -> int:
    return pool[(visitor + press) % len(pool)]


async def drive(soak: Soak, url: str, endpoint: Seeded, studio: Proc, sim: Proc, db_path: Path) -> None:
    import httpx

    args = soak.args
    task_s = soak.pending_s + soak.running_s
    image = IMAGE.read_bytes()
    press_timeout = max(180.0, 30.0 * task_s)
    # A fresh connection per request (as bench/concurrency.py does by default): a pooled keep-alive connection
    # reused just as uvicorn closes it fails with ReadError, an artefact of the client, not the studio.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits, trust_env=False) as http:
        # Warm-up: one visitor per seed of the pool, at once, so each clip is rendered before the clock starts.
        t_warm = time.perf_counter()
        soak.warmup = [Visitor(index=-1 - i) for i in range(len(soak.seeds))]

        async def warm(visitor: Visitor, seed: int) -> None:
            if await ensure_upload(http, url, visitor, image, time.perf_counter() + 120.0):
                await run_press(http, url, endpoint, visitor, seed, t_warm, press_timeout)

        await asyncio.gather(*(warm(v, s) for v, s in zip(soak.warmup, soak.seeds)))
        soak.warmup_s = time.perf_counter() - t_warm
        for visitor in soak.warmup:
            for press in visitor.presses:
                if press.outcome != "succeeded":
                    print(
                        f"  warm-up press (seed {press.seed}) did not succeed: {press.outcome}: {press.detail}",
                        flush=True,
                    )

        # The soak: N visitors, each starting at a random moment within the first task time, then back to back.
        pids = (studio.pid, sim.pid)
        meter = CpuMeter(*pids)
        soak.load_before = meter.load_before
        soak.rss.append(("idle after warm-up", proc_mem_mb(pids[0], "VmRSS")))
        soak.sim_rss.append(("idle after warm-up", proc_mem_mb(pids[1], "VmRSS")))
        start = time.perf_counter()
        deadline = start + args.minutes * 60.0
        soak.visitors = [Visitor(index=i) for i in range(args.visitors)]
        rng = random.Random(1)
        stop = asyncio.Event()

        arrived = 0

        async def visit(visitor: Visitor) -> None:
            nonlocal arrived
            await asyncio.sleep(rng.uniform(0.0, task_s))
            if not await ensure_upload(http, url, visitor, image, deadline):
                return
            k = 0
            while time.perf_counter() < deadline:
                press = await run_press(
                    http, url, endpoint, visitor, seed_for(soak.seeds, visitor.index, k), start, press_timeout
                )
                k += 1
                if k == 1:
                    arrived += 1
                    if arrived == len(soak.visitors):
                        at = time.perf_counter() - start
                        mb = proc_mem_mb(pids[0], "VmRSS")
                        soak.all_in = (at, sum(len(v.presses) for v in soak.visitors), mb)
                        soak.rss.append((f"every visitor in ({at:.0f}s)", mb))
                if press.outcome == "client error" and time.perf_counter() < deadline:
                    await asyncio.sleep(1.0)  # never spin on a broken connection

        async def sample_rss() -> None:
            n = 1
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, start + n * RSS_EVERY_S - time.perf_counter()))
                    return
                except asyncio.TimeoutError:
                    pass
                done = sum(len(v.presses) for v in soak.visitors)
                if studio.popen.poll() is None:
                    soak.rss.append((f"{n * RSS_EVERY_S:.0f}s", proc_mem_mb(pids[0], "VmRSS")))
                    soak.sim_rss.append((f"{n * RSS_EVERY_S:.0f}s", proc_mem_mb(pids[1], "VmRSS")))
                    soak.loaded.append((done, soak.rss[-1][1], soak.sim_rss[-1][1]))
                print(
                    f"  ... {n * RSS_EVERY_S:.0f} s: {done} presses done, studio RSS {soak.rss[-1][1]:.0f} MB, "
                    f"load {load()}",
                    flush=True,
                )
                n += 1

        sampler = asyncio.create_task(sample_rss())
        hard_stop = args.minutes * 60.0 + press_timeout + 60.0  # every press has its own timeout; this is a backstop
        visiting = [asyncio.create_task(visit(v)) for v in soak.visitors]
        _done, pending = await asyncio.wait(visiting, timeout=hard_stop)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        soak.run_s = time.perf_counter() - start
        stop.set()
        await sampler
        soak.rss.append((f"visitors stopped ({soak.run_s:.0f}s)", proc_mem_mb(pids[0], "VmRSS")))
        soak.sim_rss.append((f"visitors stopped ({soak.run_s:.0f}s)", proc_mem_mb(pids[1], "VmRSS")))

        # Grace: work still in flight in the studio (a press given up by its visitor keeps running there).
        t_grace = time.perf_counter()
        grace_cap = max(30.0, 4.0 * task_s)
        while time.perf_counter() - t_grace < grace_cap:
            soak.grace_left_open = open_rows(db_path)
            if soak.grace_left_open == 0:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(SETTLE_S)  # and let the server settle (one memory upkeep tick) before the last readings
        soak.grace_s = time.perf_counter() - t_grace
        soak.rss.append((f"end (+{soak.grace_s:.0f}s grace)", proc_mem_mb(pids[0], "VmRSS")))
        soak.sim_rss.append((f"end (+{soak.grace_s:.0f}s grace)", proc_mem_mb(pids[1], "VmRSS")))
        soak.studio_peak_mb = proc_mem_mb(pids[0], "VmHWM")
        use = meter.read()
        soak.studio_cpu_s, soak.sim_cpu_s = use.processes
        soak.driver_cpu_s, soak.machine_busy_s = use.own_s, use.machine_s
        soak.load_after = load()


def run(args: argparse.Namespace) -> Soak:
    task_s = args.task_seconds
    pending = min(1.0, 0.2 * task_s)  # 5 s -> PENDING 1 s + RUNNING 4 s, the simulator's own defaults
    seeds = [SEED_BASE + i for i in range(args.seeds)]
    soak = Soak(args=args, seeds=seeds, pending_s=pending, running_s=task_s - pending)
    folder = Path(tempfile.mkdtemp(prefix="studio-soak-"))
    # As harness.servers lays them out: the studio's data and Gradio temp folders, the simulator's outputs.
    data_dir, gradio_tmp, sim_out = folder / "data", folder / "gradio", folder / "simulator"
    procs: list[Proc] = []
    db_path = data_dir / "history.sqlite3"
    try:
        sim = start_simulator(folder, pending=soak.pending_s, running=soak.running_s, admin=True)
        procs.append(sim)
        studio = start_studio(folder, STUDIO_BASE_URL=sim.url)
        procs.append(studio)
        url, sim_url = studio.url, sim.url
        endpoint = describe(url)
        asyncio.run(drive(soak, url, endpoint, studio, sim, db_path))
        stats = sim_stats(sim_url)
        soak.sim_created, soak.sim_by_endpoint = int(stats["created"]), dict(stats.get("by_endpoint", {}))
        soak.rows = read_history(db_path)  # while the studio still runs (its WAL is current)
    except Exception as err:
        soak.fatal = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"
    finally:
        for proc in reversed(procs):
            proc.stop()
        if procs:
            soak.studio_exit = procs[-1].popen.returncode if procs[-1].name == "studio" else None
        for proc in procs:
            problems = proc.problems()
            if proc.name == "studio":
                soak.studio_log = problems
            else:
                soak.sim_log = problems
        soak.data_mb = folder_mb(data_dir)
        if data_dir.is_dir():
            soak.data_breakdown = {
                p.name: folder_mb(p) if p.is_dir() else p.stat().st_size / 1e6 for p in sorted(data_dir.iterdir())
            }
        soak.gradio_tmp_mb, soak.sim_out_mb = folder_mb(gradio_tmp), folder_mb(sim_out)
        clean_up(folder, keep=args.keep)
    return soak


# --- the report --------------------------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> str:
    return (
        f"python bench/soak.py --visitors {args.visitors} --minutes {args.minutes:g} "
        f"--task-seconds {args.task_seconds:g} --seeds {args.seeds}"
    )


def latency_line(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"median {statistics.median(values):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
        f"max {max(values):.1f} s (n={len(values)})"
    )


def report(soak: Soak) -> list[str]:
    """Print every figure; return the goals not met."""
    args = soak.args
    missed: list[str] = []
    if soak.fatal:
        print(f"\nTHE SOAK DID NOT COMPLETE: {soak.fatal}")
        missed.append(f"the soak did not complete ({soak.fatal.splitlines()[0][:200]})")
        if not any(v.presses for v in soak.visitors + soak.warmup):
            return missed  # nothing was measured

    # Warm-up
    warm = [p for v in soak.warmup for p in v.presses]
    if warm:
        ok = sum(p.outcome == "succeeded" for p in warm)
        print(
            f"\nwarm-up: {len(warm)} presses (one per seed, rendering the pool), {ok} succeeded, "
            f"in {soak.warmup_s:.1f} s"
        )

    # Visitors
    presses = [p for v in soak.visitors for p in v.presses]
    succeeded = [p for p in presses if p.outcome == "succeeded"]
    failed = [p for p in presses if p.outcome == "failed"]
    client = [p for p in presses if p.outcome == "client error"]
    other_client = [e for v in soak.visitors + soak.warmup for e in v.client_errors]
    minutes = max(soak.run_s, 1e-9) / 60.0
    print(
        f"\nvisitors: {len(soak.visitors)} for {soak.run_s:.0f} s (presses start until {args.minutes:g} min; "
        f"the last ones finish after)"
    )
    print(
        f"  requests sent (presses): {len(presses)}   succeeded: {len(succeeded)}   failed: {len(failed)}   "
        f"client errors: {len(client) + len(other_client)}"
        + (f" ({len(other_client)} outside presses: uploads)" if other_client else "")
    )
    print(
        f"  throughput: {len(succeeded) / minutes:.1f} clips/min ({len(succeeded) / max(soak.run_s, 1e-9):.2f}/s); "
        f"presses per visitor: min {min((len(v.presses) for v in soak.visitors), default=0)}, "
        f"median {statistics.median([len(v.presses) for v in soak.visitors]) if soak.visitors else 0:.0f}, "
        f"max {max((len(v.presses) for v in soak.visitors), default=0)}"
    )
    lat = [p.latency_s for p in succeeded if p.latency_s is not None]
    print(f"  press -> succeeded, all presses: {latency_line(lat)}")
    medians, p95s = [], []
    for visitor in soak.visitors:
        mine = [p.latency_s for p in visitor.presses if p.outcome == "succeeded" and p.latency_s is not None]
        if mine:
            medians.append(statistics.median(mine))
            p95s.append(percentile(mine, 0.95))
    if medians:
        print(
            f"  per visitor: median latency from {min(medians):.1f} to {max(medians):.1f} s "
            f"(median of medians {statistics.median(medians):.1f} s); p95 from {min(p95s):.1f} to {max(p95s):.1f} s"
        )
    updates = [p.updates for p in succeeded]
    if updates:
        print(f"  streamed updates per succeeded press: median {statistics.median(updates):.0f}")
    for label, group in (("failed", failed), ("client error", client)):
        kinds = Counter(re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", p.detail)[:200] for p in group)
        for text, n in kinds.most_common(6):
            print(f"  {label} x{n}: {text}")
    for text, n in Counter(other_client).most_common(3):
        print(f"  client error (upload) x{n}: {text}")
    errors = len(failed) + len(client) + len(other_client)
    if errors:
        missed.append(f"{errors} errors ({len(failed)} failed, {len(client) + len(other_client)} client errors)")

    # Lost and duplicated, against the history DB and the simulator's own count
    all_presses = warm + presses
    rows = soak.rows
    print("\naccounting (history DB read read-only, simulator /_simulator/stats):")
    if not rows and not soak.fatal:
        print("  the history DB has no rows")
    seen: dict[str, list[Press]] = {}
    for press in all_presses:
        if press.task_id:
            seen.setdefault(press.task_id, []).append(press)
    rows_by_task: dict[str, list[Row]] = {}
    for row in rows:
        if row.task_id:
            rows_by_task.setdefault(row.task_id, []).append(row)
    lost_seen = [t for t in seen if not any(r.status == "succeeded" for r in rows_by_task.get(t, []))]
    lost_set = set(lost_seen)
    no_task = [r for r in rows if r.task_id is None]
    not_terminal = [r for r in rows if r.status not in TERMINAL and r.task_id not in lost_set and r.task_id is not None]
    lost = len(lost_seen) + len(no_task) + len(not_terminal)
    distinct = len(rows_by_task)
    with_id = sum(1 for p in all_presses if p.task_id)
    print(
        f"  presses (incl. warm-up): {len(all_presses)}; with a task id seen: {with_id}; "
        f"distinct task ids seen: {len(seen)}"
    )
    print(
        f"  history rows: {len(rows)}; distinct task ids in history: {distinct}; "
        f"by status: {dict(Counter(r.status for r in rows).most_common())}"
    )
    print(f"  simulator created: {soak.sim_created} {soak.sim_by_endpoint}")
    print(
        f"  tasks lost: {lost}  (seen by a visitor but not succeeded in history: {len(lost_seen)}; "
        f"rows without a task id: {len(no_task)}; other rows not terminal: {len(not_terminal)})"
    )
    for task_id in lost_seen[:5]:
        found = rows_by_task.get(task_id, [])
        state = ", ".join(f"{r.status} {r.failure}".strip() for r in found) or "no history row"
        print(f"    lost: task {task_id}: {state[:200]}")
    for row in (no_task + not_terminal)[:5]:
        print(f"    lost: row {row.id} (task {row.task_id}): {row.status} {row.failure[:160]}")
    if lost:
        missed.append(f"{lost} tasks lost")

    sessions = {v.session: v for v in soak.visitors + soak.warmup}
    rows_by_visitor: dict[str, list[Row]] = {}
    for row in rows:
        rows_by_visitor.setdefault(row.visitor, []).append(row)
    # Per visitor, a row is accounted for by the press that saw its task id; the rest (no task id, or one the
    # visitor never saw) by the visitor's presses that saw no task id (failed before create, or gave up waiting).
    extra_rows, foreign = 0, 0
    for owner, owned in rows_by_visitor.items():
        visitor = sessions.get(owner.removeprefix("session:"))
        if visitor is None:
            foreign += len(owned)
            continue
        mine = {p.task_id for p in visitor.presses if p.task_id}
        unmatched_rows = sum(1 for r in owned if r.task_id not in mine)
        unmatched_presses = sum(1 for p in visitor.presses if not p.task_id)
        extra_rows += max(0, unmatched_rows - unmatched_presses)
    shared_task = sum(len(v) - 1 for v in rows_by_task.values() if len(v) > 1)
    seen_twice = sum(len(v) - 1 for v in seen.values() if len(v) > 1)
    created_minus = (soak.sim_created - distinct) if soak.sim_created is not None else None
    print(f"  tasks duplicated: simulator created - distinct task ids in history = {created_minus}")
    print(
        f"  presses with more than one history row: rows no press of their visitor accounts for {extra_rows}; "
        f"task ids in two rows {shared_task}; task ids seen by two presses {seen_twice}; "
        f"rows of unknown visitors {foreign}"
    )
    if created_minus is None or created_minus != 0:
        missed.append(f"tasks duplicated: created - distinct = {created_minus}")
    if extra_rows or shared_task or seen_twice or foreign:
        missed.append("a press produced more than one history row")

    # Memory, disk, CPU
    print("\nstudio RSS (VmRSS, MB): " + ", ".join(f"{label} {mb:.0f}" for label, mb in soak.rss))
    if len(soak.rss) >= 2 and soak.rss[0][1] > 0 and soak.all_in is not None:
        idle_mb, end_mb = soak.rss[0][1], soak.rss[-1][1]
        at_s, presses_in, in_mb = soak.all_in
        ratio = end_mb / in_mb
        visitors = len(soak.visitors)
        print(
            f"  idle after warm-up {idle_mb:.0f} MB -> every visitor in ({at_s:.0f} s, {presses_in} presses) "
            f"{in_mb:.0f} MB: the working set of {visitors} visitors, {(in_mb - idle_mb) / visitors:.2f} MB each"
        )
        print(
            f"  every visitor in {in_mb:.0f} MB -> end (idle, after the run) {end_mb:.0f} MB: end/in = {ratio:.2f} "
            f"(goal <= {RSS_FLAT_RATIO:.2f}); idle to idle {end_mb / idle_mb:.2f}x; peak (VmHWM) "
            f"{soak.studio_peak_mb:.0f} MB"
        )
        studio_growth = growth(soak.loaded, 1)
        if studio_growth:
            print(f"  under load (the 30 s samples, all visitors active): {studio_growth}")
        if ratio > RSS_FLAT_RATIO:
            missed.append(f"studio RSS not flat: end/in = {ratio:.2f} > {RSS_FLAT_RATIO:.2f}")
    else:
        missed.append("RSS not measured (or not every visitor got in)")
    if soak.sim_rss:
        print("simulator RSS (MB): " + ", ".join(f"{label} {mb:.0f}" for label, mb in soak.sim_rss))
        sim_growth = growth(soak.loaded, 2)
        if sim_growth:
            print(f"  under load: {sim_growth}")
    parts = ", ".join(f"{name} {mb:.1f}" for name, mb in soak.data_breakdown.items())
    print(
        f"data dir at the end: {soak.data_mb:.1f} MB ({parts}); Gradio temp dir {soak.gradio_tmp_mb:.1f} MB; "
        f"simulator outputs {soak.sim_out_mb:.1f} MB"
    )
    cores = os.cpu_count() or 1
    span = soak.run_s + soak.grace_s
    others = max(0.0, soak.machine_busy_s - soak.studio_cpu_s - soak.sim_cpu_s - soak.driver_cpu_s)
    print(
        f"CPU over {span:.0f} s: machine {soak.machine_busy_s:.0f} of {cores * span:.0f} core-seconds busy: studio "
        f"{soak.studio_cpu_s:.0f}, simulator {soak.sim_cpu_s:.0f}, visitors (this script) {soak.driver_cpu_s:.0f}, "
        f"other processes {others:.0f}"
    )
    print(f"load average (1, 5, 15 min): before {soak.load_before or '?'}, after {soak.load_after or load()}")
    if soak.grace_left_open:
        print(f"grace: {soak.grace_s:.0f} s; rows still open at its end: {soak.grace_left_open}")
    else:
        print(f"grace: {soak.grace_s:.0f} s (no history row left open)")
    for name, lines in (("studio", soak.studio_log), ("simulator", soak.sim_log)):
        if lines:
            print(f"{name} log: {len(lines)} distinct warning/error lines, e.g.:")
            for line in lines[:6]:
                print(f"    {line}")
        else:
            print(f"{name} log: no warnings or errors")
    return missed


def growth(samples: list[tuple[int, float, float]], column: int) -> str:
    """How RSS moved with the work done while every visitor was active: the least-squares slope in KB per press
    (a leak grows with the work; a working set does not), and the change over the second half of the samples."""
    points = [(s[0], s[column]) for s in samples]
    if len(points) < 3 or points[-1][0] == points[0][0]:
        return ""
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope_kb = 1000.0 * sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0
    half = points[len(points) // 2 :]
    return (
        f"{points[0][1]:.0f} MB at {points[0][0]} presses -> {points[-1][1]:.0f} MB at {points[-1][0]} presses; "
        f"slope {slope_kb:+.0f} KB per press; second half {half[-1][1] - half[0][1]:+.0f} MB over "
        f"{half[-1][0] - half[0][0]} presses"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100, help="visitors generating at once (default 100)")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long visitors keep pressing (default 5)")
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=5.0,
        help="simulator task time T = PENDING + RUNNING; PENDING is 20%% of T, at most 1 s (default 5)",
    )
    parser.add_argument("--seeds", type=int, default=4, help="fixed seeds the visitors cycle over (default 4)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data dir)")
    args = parser.parse_args(argv)
    args.visitors = max(1, min(MAX_VISITORS, args.visitors))
    args.minutes = max(0.1, min(MAX_MINUTES, args.minutes))
    args.task_seconds = max(0.5, min(600.0, args.task_seconds))
    args.seeds = max(1, min(64, args.seeds))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK  # gradio_client's httpx: never via a proxy

    pending = min(1.0, 0.2 * args.task_seconds)
    print(
        f"soak: {args.visitors} visitors press Generate on Image to Video ({GENERATE_API}) back to back for "
        f"{args.minutes:g} min, on a standalone simulator"
    )
    print(f"machine: {machine('gradio', 'gradio_client', 'httpx')}")
    print(f"load average (1, 5, 15 min) at the start: {load()}")
    running = args.task_seconds - pending
    print(f"task time T = {args.task_seconds:g} s (simulator --pending {pending:g} --running {running:g})")
    pool = ", ".join(str(SEED_BASE + i) for i in range(args.seeds))
    print(
        f"request: {IMAGE.relative_to(ROOT)} (uploaded once per visitor), ratio {RATIO}, duration {DURATION} s, same "
        f"prompt; FIXED seeds cycling over a pool of {args.seeds} ({pool}): visitor v's k-th press uses pool[(v+k) % "
        f"{args.seeds}], so the simulator renders {args.seeds} clips once and every task shares one of them, while a "
        f"visitor's consecutive history rows differ"
    )
    print(
        "visitors: raw Gradio queue API (upload, queue/join, SSE queue/data) from one asyncio httpx client, "
        "a session per visitor, a fresh connection per request; each starts at a random moment within T, "
        "then presses again as soon as its previous generation ends"
    )
    print(f"command: {command(args)}   (from the repository root)")
    soak = run(args)
    missed = report(soak)
    print()
    print("GOALS MET" if not missed else "GOALS NOT MET: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted")
    sys.exit(0)
