"""1,000 visitors press Generate at once, against 1 studio replica and then 2, both behind HAProxy (studio.serve).

Usage, from the repository root::

    python bench/replicas.py [--visitors 1000] [--task-seconds 60] [--replicas 1,2] [--timeout 900] [--keep-logs]

Each run starts ``python -m studio.serve --workers N`` (HAProxy, N ``app.py`` processes and one standalone simulator
shared by all, with a fixed task time T: PENDING 1 s, RUNNING the rest). Visitors speak Gradio's queue protocol
from one asyncio httpx client (``harness.gradio_queue``), each keeping HAProxy's cookie as a browser would
(``harness.sticky``), so its upload, join and event stream reach one replica. As in ``concurrency.py``, every visitor
sends the same request with a fixed seed, so the simulator renders one clip: this measures the studios, not the
renderer. One untimed visitor per replica warms it up first (until its handler starts).

Reported per run: wall time until every visitor has a clip, as wall/T; press -> handler started (Gradio's
``process_starts``), median and p95; CPU seconds and RSS of each replica, of the simulator and of HAProxy; and what
the machine did meanwhile. The goal for 2 replicas: wall/T <= 1.3 and p95 press -> handler started < 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.gradio_queue import Endpoint, Generation, run_event, upload
from harness.image_to_video import GENERATE_API, IMAGE, generate_endpoint
from harness.machine import CpuMeter, load, machine, proc_mem_mb
from harness.servers import LOOPBACK, clean_up, start_serve
from harness.stats import percentile
from harness.sticky import Sticky

GOAL_WALL_T, GOAL_P95_S = 1.3, 3.0


@dataclass
class Visit:
    replica: str | None = None
    started_s: float | None = None  # press -> handler started
    done_s: float | None = None  # press -> succeeded
    phase: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.phase == "succeeded"


@dataclass
class Run:
    workers: int
    visits: list[Visit]
    wall_s: float
    cpu_s: dict[str, float] = field(default_factory=dict)  # per process name, during the timed run
    rss_mb: dict[str, tuple[float, float]] = field(default_factory=dict)  # (after, peak) per process name
    machine_s: float = 0.0
    driver_s: float = 0.0
    load_before: str = ""


async def visit(http: Any, url: str, endpoint: Endpoint, image: bytes, record: Visit) -> None:
    sticky = Sticky(http)
    t0 = time.perf_counter()
    generation = Generation()
    try:
        file = await upload(sticky, url, image, IMAGE.name)
        await run_event(sticky, url, endpoint, generation, file=file)
    except Exception as err:
        record.error = f"{type(err).__name__}: {err}"
    record.replica, record.phase = sticky.replica, generation.phase
    record.error = record.error or generation.error
    if "started" in generation.seen:
        record.started_s = generation.seen["started"] - t0
    if "succeeded" in generation.seen:
        record.done_s = generation.seen["succeeded"] - t0


def client() -> Any:
    import httpx

    no_jar = http.cookiejar.CookieJar(
        policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
    )  # Sticky keeps them
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)  # a fresh connection per request
    return httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits, trust_env=False, cookies=no_jar)


async def warm_up(url: str, endpoint: Endpoint, workers: int) -> None:
    """One visitor per replica, until its handler has started (imports warmed, the queue's workers up)."""
    image = IMAGE.read_bytes()
    async with client() as http:
        seen: set[str] = set()
        for _ in range(4 * workers):
            sticky, generation = Sticky(http), Generation()
            file = await upload(sticky, url, image, IMAGE.name)
            if sticky.replica in seen:
                continue
            seen.add(str(sticky.replica))
            with_start = asyncio.create_task(run_event(sticky, url, endpoint, generation, file=file))
            while "started" not in generation.seen and not with_start.done():
                await asyncio.sleep(0.1)
            with_start.cancel()
            if len(seen) == workers:
                return


async def visitors(url: str, endpoint: Endpoint, count: int, cap_s: float) -> tuple[list[Visit], float]:
    image = IMAGE.read_bytes()
    records = [Visit() for _ in range(count)]
    async with client() as http:
        start = time.perf_counter()
        tasks = [asyncio.create_task(visit(http, url, endpoint, image, r)) for r in records]
        _, pending = await asyncio.wait(tasks, timeout=cap_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        wall = time.perf_counter() - start
    for record, task in zip(records, tasks):
        if task in pending:
            record.error = record.error or f"not done within the {cap_s:.0f} s cap"
    done = [r.done_s for r in records if r.ok and r.done_s is not None]
    return records, (max(done) if len(done) == count else wall)


def run(workers: int, args: argparse.Namespace) -> Run:
    folder = Path(tempfile.mkdtemp(prefix=f"studio-bench-replicas-{workers}-"))
    settings = {
        "STUDIO_SIM_PENDING_S": "1",
        "STUDIO_SIM_RUNNING_S": f"{args.task_seconds - 1:g}",
        "STUDIO_MAX_SESSIONS": str(2 * args.visitors),
    }
    proc, pids = start_serve(folder, workers=workers, **settings)
    try:
        endpoint = generate_endpoint(proc.url)
        asyncio.run(warm_up(proc.url, endpoint, workers))
        names = [f"r{n}" for n in range(1, workers + 1)] + ["simulator", "haproxy"]
        meter = CpuMeter(*(pids[name] for name in names))
        records, wall = asyncio.run(visitors(proc.url, endpoint, args.visitors, args.timeout))
        use = meter.read()
        time.sleep(1.0)
        result = Run(workers, records, wall, machine_s=use.machine_s, driver_s=use.own_s, load_before=meter.load_before)
        for name, cpu in zip(names, use.processes):
            result.cpu_s[name] = cpu
            result.rss_mb[name] = (proc_mem_mb(pids[name], "VmRSS"), proc_mem_mb(pids[name], "VmHWM"))
        return result
    finally:
        proc.stop()
        clean_up(folder, keep=args.keep_logs)


def report(run: Run, task_s: float) -> tuple[float, float | None]:
    ok = [v for v in run.visits if v.ok]
    started = [v.started_s for v in run.visits if v.started_s is not None]
    ratio = run.wall_s / task_s
    p95 = percentile(started, 0.95) if started else None
    print(f"\n[{run.workers} replica{'s' * (run.workers > 1)}] load average before: {run.load_before}")
    print(f"  wall {run.wall_s:.1f} s   wall/T = {ratio:.2f}   succeeded {len(ok)}/{len(run.visits)}")
    if started:
        print(
            f"  press -> handler started: median {statistics.median(started):.1f} s, p95 {p95:.1f} s, "
            f"max {max(started):.1f} s (of {len(started)} started)"
        )
    done = [v.done_s for v in ok if v.done_s is not None]
    if done:
        print(f"  press -> clip: median {statistics.median(done):.1f} s, p95 {percentile(done, 0.95):.1f} s")
    spread = {name: sum(v.replica == name for v in run.visits) for name in run.cpu_s if name.startswith("r")}
    print(f"  visitors per replica (HAProxy's cookie): {spread}")
    for name, cpu in run.cpu_s.items():
        rss, peak = run.rss_mb[name]
        print(f"  {name:9s} CPU {cpu:6.1f} s ({cpu / run.wall_s:.0%} of a core)   RSS {rss:.0f} MB, peak {peak:.0f} MB")
    others = max(0.0, run.machine_s - sum(run.cpu_s.values()) - run.driver_s)
    print(
        f"  machine: {run.machine_s:.0f} of {(os.cpu_count() or 1) * run.wall_s:.0f} core-seconds busy "
        f"(studio processes {sum(run.cpu_s.values()):.0f}, load generator {run.driver_s:.0f}, others {others:.0f})"
    )
    errors: dict[str, int] = {}
    for v in run.visits:
        if not v.ok:
            key = (v.error or f"ended at {v.phase}")[:160]
            errors[key] = errors.get(key, 0) + 1
    for message, n in sorted(errors.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  error x{n}: {message}")
    return ratio, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--task-seconds", type=float, default=60.0, help="the simulator's task time T (default 60)")
    parser.add_argument("--replicas", default="1,2", help="replica counts to run, in order (default 1,2)")
    parser.add_argument("--timeout", type=float, default=900.0, help="cap on each timed run, s (default 900)")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK
    counts = [int(n) for n in args.replicas.split(",")]
    print(f"{args.visitors} visitors generate at once through {GENERATE_API}, T = {args.task_seconds:g} s")
    print(f"machine: {machine('gradio', 'gradio_client', 'httpx')}; load {load()}")
    print(
        f"command: python bench/replicas.py --visitors {args.visitors} --task-seconds {args.task_seconds:g} "
        f"--replicas {args.replicas} --timeout {args.timeout:g}   (from the repository root)"
    )
    results = {n: report(run(n, args), args.task_seconds) for n in counts}
    if 2 in results:
        ratio, p95 = results[2]
        met = ratio <= GOAL_WALL_T and p95 is not None and p95 < GOAL_P95_S
        print(
            f"\ngoal for 2 replicas (wall/T <= {GOAL_WALL_T}, p95 press -> handler started < {GOAL_P95_S:g} s): "
            f"{'met' if met else 'NOT met'} (wall/T {ratio:.2f}, p95 {p95 if p95 is None else round(p95, 1)} s)"
        )


if __name__ == "__main__":
    main()
