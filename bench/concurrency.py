"""N visitors press Generate at once: how long until every one has a clip, in units of one task's time T.

Usage, from the repository root::

    python bench/concurrency.py [--visitors 100] [--task-seconds 10] [--default-timeout 120] [--skip-defaults]
                                [--driver http|client] [--keep-alive] [--keep-logs]

Each run starts the studio in its own subprocess (this script re-invokes itself with ``--serve-mode``): ``app.py``'s
``main()`` as it is, on a free loopback port, on the embedded simulator with a fixed task time T (PENDING 10 % of
T, at most 1 s, then RUNNING for the rest), with its own data folder. N visitors, each with its own Gradio session,
upload the same small image and call ``/generate_image_to_video`` at the same moment; a visitor is done when its
stream ends with the status panel at ``data-phase="succeeded"``. The request is identical for every visitor (same
image, ratio, duration and a FIXED seed), so the simulator renders the clip once and every task shares it: this
measures the studio's concurrency, not the renderer (100 distinct clips on 2 cores would take minutes of x264
alone). One untimed warm-up visitor first renders that clip and warms the server's imports.

Two runs are compared:

* ``ours``: the studio as ``app.py`` launches it: ``studio.ui.app.queue`` (``default_concurrency_limit=None``) and
  ``launch_options`` (``max_threads=256``).
* ``defaults``: the same app with those two hooks swapped for Gradio's defaults: ``demo.queue()`` (one at a time
  per event) and ``launch(max_threads=40)``; every other launch option stays. It would take about N x T, so it is
  stopped after ``--default-timeout`` seconds and the wall time is projected from the completion rate.

Visitors (``--driver``): ``http`` (default) speaks Gradio's queue API directly from one asyncio httpx client, as
gradio_client does (``POST /gradio_api/upload``, ``POST /gradio_api/queue/join``, then the SSE stream
``GET /gradio_api/queue/data?session_hash=...``, applying the streamed diffs), which keeps the load generator
light on a 2-core machine (about 2-5 CPU-seconds for 100 visitors). ``client`` uses one gradio_client ``Client``
per visitor in its own thread (about 25 CPU-seconds for 100, competing with the server). All traffic goes to
127.0.0.1 and the script stops by itself. The figures include whatever else the machine is running: each run
prints the machine's load and how much CPU other processes took during it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import ROOT
from harness.gradio_queue import Endpoint, Generation, add_phase, run_event, upload
from harness.image_to_video import DURATION, GENERATE_API, IMAGE, RATIO, SEED, generate_endpoint
from harness.machine import CpuMeter, machine, proc_mem_mb
from harness.servers import LOOPBACK, Proc, clean_up, start_studio
from harness.stats import percentile

# --- the server (subprocess) -----------------------------------------------------------------------------------


def split_task_time(task_s: float) -> tuple[float, float]:
    """(pending, running) for a task time T: PENDING is 10 % of T, at most 1 s; RUNNING the rest."""
    pending = min(1.0, task_s * 0.1)
    return pending, task_s - pending


def serve(mode: str) -> None:
    """Run ``app.py``'s ``main()`` as it is, with our concurrency settings (``ours``) or Gradio's (``defaults``).

    The settings come from the environment the driver sets (simulator, task times, data folder, port). For
    ``defaults`` the studio's two concurrency hooks, ``studio.ui.app.queue`` and ``launch_options``, are swapped
    for Gradio's defaults wherever app.py reaches them; everything else (the page, the other launch options) stays
    the same. Each hook prints a marker the driver checks, so a change that bypasses them is reported instead of
    being measured wrongly.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import app  # only the serving subprocess imports gradio
    import studio.ui.app as ui

    our_queue, our_options = ui.queue, ui.launch_options

    def queue_hook(demo: Any) -> Any:
        if mode == "ours":
            print("bench-hook: queue = studio.ui.app.queue (default_concurrency_limit=None)", flush=True)
            return our_queue(demo)
        print("bench-hook: queue = demo.queue() (Gradio's default)", flush=True)
        return demo.queue()

    def options_hook(*args: Any, **kwargs: Any) -> dict[str, Any]:
        options = dict(our_options(*args, **kwargs))
        if mode == "defaults":
            options["max_threads"] = 40  # Gradio's default
        options.setdefault("quiet", True)
        print(f"bench-hook: launch max_threads = {options.get('max_threads', 40)}", flush=True)
        return options

    for module in (ui, app):  # app.py may import either name directly
        for name, hook in (("queue", queue_hook), ("launch_options", options_hook)):
            if hasattr(module, name):
                setattr(module, name, hook)
    app.main()


# --- results ---------------------------------------------------------------------------------------------------


@dataclass
class Visit:
    latency_s: float | None = None  # press -> succeeded (or -> end of stream)
    queued_s: float | None = None  # press -> Gradio started the handler (process_starts)
    marks: dict[str, float] = field(default_factory=dict)  # press -> each step (http driver)
    phases: list[str] = field(default_factory=list)
    updates: int = 0  # streamed updates (process_generating messages) received
    error: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and bool(self.phases) and self.phases[-1] == "succeeded"


@dataclass
class Server:
    cpu_s: float = 0.0  # user + system CPU of the server process during the timed run
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    peak_rss_mb: float = 0.0
    log_problems: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)  # what the serving subprocess applied
    machine_busy_s: float = 0.0  # CPU time used by every process on the machine during the timed run
    loadavg: str = ""  # 1-minute load average just before the timed run
    driver_cpu_s: float = 0.0  # CPU time of this script (the visitors) during the timed run


@dataclass
class Run:
    mode: str
    visits: list[Visit]
    wall_s: float
    capped_at: float | None
    warmup_s: float | None
    server: Server = field(default_factory=Server)


# --- visitors over raw HTTP (Gradio's queue protocol, sse_v3) -----------------------------------------------------


async def http_visit(http: Any, base: str, endpoint: Endpoint, image: bytes, visit: Visit, t0: float) -> None:
    file = await upload(http, base, image, IMAGE.name)
    visit.marks["uploaded"] = time.perf_counter() - t0
    generation = Generation()
    try:
        await run_event(http, base, endpoint, generation, file=file)
    finally:  # what arrived, also when the visit failed or was cut off
        visit.marks |= {step: at - t0 for step, at in generation.seen.items()}
        visit.queued_s = visit.marks.get("started")
        visit.phases, visit.updates, visit.error = generation.phases, generation.updates, generation.error
    if visit.error is None and (not visit.phases or visit.phases[-1] != "succeeded"):
        visit.error = f"stream ended at phase {visit.phases[-1] if visit.phases else 'none'}"


async def http_visitors(
    url: str, endpoint: Endpoint, count: int, cap_s: float, meter: CpuMeter | None = None, *, keep_alive: bool = False
) -> tuple[list[Visit], float]:
    import httpx

    image = IMAGE.read_bytes()
    visits = [Visit() for _ in range(count)]
    # A fresh connection per request by default: a pooled keep-alive connection reused just as uvicorn closes it
    # (its keep-alive timeout is 5 s, and a busy event loop closes late) fails with ReadError, a client artefact.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None if keep_alive else 0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits, trust_env=False) as http:

        async def one(visit: Visit) -> None:
            t0 = time.perf_counter()
            try:
                await http_visit(http, url, endpoint, image, visit, t0)
            except asyncio.CancelledError:
                visit.timed_out = True
                raise
            except Exception as err:
                last = max(visit.marks, key=visit.marks.__getitem__, default="")
                step = {"uploaded": "queue/join", "": "the upload"}.get(last, "the SSE stream")
                detail = str(err) or repr(err.__cause__ or err.__context__)
                visit.error = f"{type(err).__name__} {detail} during {step}"
            finally:
                visit.latency_s = time.perf_counter() - t0

        if meter:
            meter.start()
        start = time.perf_counter()
        tasks = [asyncio.create_task(one(v)) for v in visits]
        _done, pending = await asyncio.wait(tasks, timeout=cap_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        ends = [v.latency_s for v in visits if v.ok and v.latency_s is not None]
        wall = max(ends) if ends and not pending else time.perf_counter() - start  # the last success, or the cap
    for visit in visits:
        if visit.timed_out:
            visit.latency_s = None
    return visits, wall


# --- visitors with gradio_client, one Client (own session) per visitor in a thread ------------------------------------


def client_visitors(
    url: str, endpoint: Endpoint, count: int, cap_s: float, meter: CpuMeter
) -> tuple[list[Visit], float]:
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    with ThreadPoolExecutor(max_workers=16) as pool:  # sessions are opened before the clock starts
        # httpx's default 5 s timeout is shorter than a queue/join under this load: give it the http driver's 120 s.
        clients = list(pool.map(lambda _: Client(url, verbose=False, httpx_kwargs={"timeout": 120.0}), range(count)))
    visits = [Visit() for _ in range(count)]
    go = threading.Event()
    start_box: list[float] = []

    def one(client: Any, visit: Visit) -> None:
        go.wait()
        t0 = time.perf_counter()
        job = client.submit(*endpoint.args, api_name=GENERATE_API)
        try:
            job.result(timeout=max(0.0, start_box[0] + cap_s - t0))
        except TimeoutError:
            visit.timed_out = True
            job.cancel()
        except Exception as err:
            visit.error = f"{type(err).__name__}: {err}"
        visit.latency_s = time.perf_counter() - t0
        if not visit.timed_out:
            for out in job.outputs():
                add_phase(visit.phases, out[0] if isinstance(out, (list, tuple)) else out)
            if visit.error is None and (not visit.phases or visit.phases[-1] != "succeeded"):
                visit.error = f"stream ended at phase {visit.phases[-1] if visit.phases else 'none'}"
        if visit.timed_out:
            visit.latency_s = None

    threads = [threading.Thread(target=one, args=(c, v), daemon=True) for c, v in zip(clients, visits)]
    for thread in threads:
        thread.start()
    meter.start()
    start_box.append(time.perf_counter())
    go.set()
    for thread in threads:
        thread.join(timeout=max(0.0, start_box[0] + cap_s + 30 - time.perf_counter()))
    ends = [v.latency_s for v in visits if v.ok and v.latency_s is not None]
    wall = max(ends) if ends and not any(v.timed_out for v in visits) else time.perf_counter() - start_box[0]
    for client in clients:
        client.close()
    return visits, wall


# --- one run: start the server, warm up, measure, stop -----------------------------------------------------------


def run_mode(mode: str, args: argparse.Namespace) -> Run:
    cap_s = args.default_timeout if mode == "defaults" else args.timeout
    folder = Path(tempfile.mkdtemp(prefix=f"studio-bench-{mode}-"))
    pending, running = split_task_time(args.task_seconds)
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-mode", mode]
    server = Server()
    try:
        try:
            proc = start_studio(
                folder, command=command, STUDIO_SIM_PENDING_S=f"{pending:g}", STUDIO_SIM_RUNNING_S=f"{running:g}"
            )
        except RuntimeError as err:
            raise SystemExit(f"[{mode}] {err}") from None
        try:
            return measure(mode, args, proc, cap_s, server)
        finally:
            proc.stop()
            server.log_problems = proc.problems()
    finally:
        clean_up(folder, keep=args.keep_logs)


def measure(mode: str, args: argparse.Namespace, proc: Proc, cap_s: float, server: Server) -> Run:
    """Warm up, then the timed run of ``args.visitors`` visitors against the studio ``proc``."""
    url, pid = proc.url, proc.pid
    hooks = [line for line in proc.log.read_text(errors="replace").splitlines() if line.startswith("bench-hook:")]
    if len(hooks) != 2:
        raise SystemExit(f"[{mode}] app.py no longer calls studio.ui.app.queue and launch_options: {hooks}")
    server.hooks = [line.removeprefix("bench-hook: ") for line in hooks]
    endpoint = generate_endpoint(url)
    warm = asyncio.run(http_visitors(url, endpoint, 1, cap_s=max(60.0, 4 * args.task_seconds + 60)))
    warmup_s = warm[0][0].latency_s if warm[0][0].ok else None
    if not warm[0][0].ok:
        print(f"  [{mode}] warm-up visitor failed: {warm[0][0].error}", flush=True)
    server.rss_before_mb = proc_mem_mb(pid, "VmRSS")
    meter = CpuMeter(pid)
    if args.driver == "client":
        visits, wall = client_visitors(url, endpoint, args.visitors, cap_s, meter)
    else:
        visits, wall = asyncio.run(
            http_visitors(url, endpoint, args.visitors, cap_s, meter, keep_alive=args.keep_alive)
        )
    use = meter.read()
    server.cpu_s, server.machine_busy_s, server.driver_cpu_s = use.processes[0], use.machine_s, use.own_s
    server.loadavg = meter.load_before
    time.sleep(1.0)  # let the server settle before reading its memory
    server.rss_after_mb = proc_mem_mb(pid, "VmRSS")
    server.peak_rss_mb = proc_mem_mb(pid, "VmHWM")
    capped = cap_s if any(v.timed_out for v in visits) else None
    return Run(mode=mode, visits=visits, wall_s=wall, capped_at=capped, warmup_s=warmup_s, server=server)


# --- report ------------------------------------------------------------------------------------------------------


def project(run: Run) -> float | None:
    """The wall time all N would take at the completion rate seen (every visitor pressed at time 0): the last
    completion plus the unfinished times the mean interval between completions. Errors are not waited for."""
    ends = sorted(v.latency_s for v in run.visits if v.ok and v.latency_s is not None)
    remaining = sum(v.timed_out for v in run.visits)
    if not remaining:
        return run.wall_s
    if not ends:
        return None
    if len(ends) == 1:
        return ends[0] * (1 + remaining)
    return ends[-1] + remaining * (ends[-1] - ends[0]) / (len(ends) - 1)


def report(run: Run, args: argparse.Namespace) -> None:
    task_s = args.task_seconds
    n = len(run.visits)
    done = [v for v in run.visits if v.ok]
    errors = [v for v in run.visits if v.error is not None and not v.timed_out]
    unfinished = sum(1 for v in run.visits if v.timed_out)
    label = {
        "ours": "studio as configured: queue(default_concurrency_limit=None), launch(max_threads=256)",
        "defaults": "Gradio defaults: demo.queue(), launch(max_threads=40)",
    }[run.mode]
    print(f"\n[{run.mode}] {label}")
    if run.server.hooks:
        print(f"  applied in the server: {'; '.join(run.server.hooks)}")
    if run.warmup_s is not None:
        print(f"  warm-up visitor (untimed, renders the shared clip): {run.warmup_s:.1f} s")
    if run.capped_at is None:
        ratio = run.wall_s / task_s
        print(f"  wall {run.wall_s:.1f} s   wall/T = {ratio:.2f}   completed {len(done)}/{n}, errors {len(errors)}")
    else:
        print(
            f"  {len(done)} finished of {n} in {run.wall_s:.1f} s"
            + (f" (stopped at the {run.capped_at:.0f} s cap; {unfinished} unfinished)" if run.capped_at else "")
            + f", errors {len(errors)}"
        )
        projected = project(run)
        if projected is not None:
            print(
                f"  projected wall ≈ {projected:.0f} s   projected wall/T ≈ {projected / task_s:.1f}   "
                "(last completion + the unfinished x the mean interval between completions so far)"
            )
    latencies = [v.latency_s for v in done if v.latency_s is not None]
    if latencies:
        median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        print(f"  per-visitor latency (finished): median {median:.1f} s, p95 {p95:.1f} s, max {max(latencies):.1f} s")
    queued = [v.queued_s for v in run.visits if v.queued_s is not None]
    if queued:
        median, p95 = statistics.median(queued), percentile(queued, 0.95)
        print(f"  press -> handler started: median {median:.1f} s, p95 {p95:.1f} s (of {len(queued)} started)")
    steps = ["uploaded", "joined", "preparing", "submitting", "queued", "running", "downloading", "succeeded"]
    medians = []
    for step in steps:
        seen = [v.marks[step] for v in run.visits if step in v.marks]
        if seen:
            medians.append(f"{step} {statistics.median(seen):.1f}/{max(seen):.1f}")
    if medians:
        print(f"  press -> step, median/max s: {', '.join(medians)}")
    updates = [v.updates for v in done if v.updates]
    if updates:
        median_updates = statistics.median(updates)
        print(f"  streamed updates per finished visitor: median {median_updates:.0f} (each postprocesses every output)")
    srv = run.server
    print(
        f"  server process: {srv.cpu_s:.1f} s CPU during the run ({srv.cpu_s / max(run.wall_s, 1e-9):.0%} of a core), "
        f"RSS {srv.rss_before_mb:.0f} MB before -> {srv.rss_after_mb:.0f} MB after, peak {srv.peak_rss_mb:.0f} MB"
    )
    cores = os.cpu_count() or 1
    others = max(0.0, srv.machine_busy_s - srv.cpu_s - srv.driver_cpu_s)
    print(
        f"  machine during the run: {srv.machine_busy_s:.0f} of {cores * run.wall_s:.0f} core-seconds busy (server "
        f"{srv.cpu_s:.0f}, load generator {srv.driver_cpu_s:.0f}, other processes {others:.0f}); load average "
        f"{srv.loadavg} before it"
    )
    if errors:
        kinds: dict[str, int] = {}
        for visit in errors:
            kinds[str(visit.error)[:160]] = kinds.get(str(visit.error)[:160], 0) + 1
        for message, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  error x{count}: {message}")
    if srv.log_problems:
        print(f"  server log: {len(srv.log_problems)} distinct warning/error lines, e.g.:")
        for line in srv.log_problems[:5]:
            print(f"    {line}")


def command(args: argparse.Namespace) -> str:
    parts = [
        "python bench/concurrency.py",
        f"--visitors {args.visitors}",
        f"--task-seconds {args.task_seconds:g}",
        f"--default-timeout {args.default_timeout:g}",
        f"--timeout {args.timeout:g}",
        f"--driver {args.driver}",
    ]
    flags = [f for f, on in (("--skip-defaults", args.skip_defaults), ("--keep-alive", args.keep_alive)) if on]
    return " ".join(parts + flags)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100, help="visitors pressing Generate at once (default 100)")
    parser.add_argument("--task-seconds", type=float, default=10.0, help="simulator PENDING + RUNNING, T (default 10)")
    parser.add_argument("--default-timeout", type=float, default=120.0, help="cap on the defaults run, s (default 120)")
    parser.add_argument("--timeout", type=float, default=300.0, help="cap on the studio's own run, s (default 300)")
    parser.add_argument("--skip-defaults", action="store_true", help="measure only the studio as configured")
    parser.add_argument(
        "--driver",
        choices=("http", "client"),
        default="http",
        help="raw queue API over asyncio httpx (default), or a gradio_client Client per visitor",
    )
    parser.add_argument("--keep-alive", action="store_true", help="http driver: reuse connections, as a browser does")
    parser.add_argument("--keep-logs", action="store_true", help="keep each server's log and data folder")
    parser.add_argument("--serve-mode", choices=("ours", "defaults"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_mode:
        serve(args.serve_mode)
        return
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK  # gradio_client's httpx: never via a proxy
    pending, running = split_task_time(args.task_seconds)
    driver = (
        "raw Gradio queue API (upload, queue/join, SSE queue/data) from one asyncio httpx client, a session per "
        "visitor, " + ("keep-alive connections" if args.keep_alive else "a fresh connection per request")
        if args.driver == "http"
        else "one gradio_client Client (own session) per visitor, each in a thread"
    )
    print(f"{args.visitors} visitors generate at once through {GENERATE_API} on the simulator")
    print(f"machine: {machine('gradio', 'gradio_client', 'httpx')}")
    print(f"task time T = {args.task_seconds:g} s (simulator PENDING {pending:g} s + RUNNING {running:g} s)")
    print(
        f"request: {IMAGE.relative_to(ROOT)} uploaded by each visitor, ratio {RATIO}, duration {DURATION} s, "
        f"fixed seed {SEED}: "
        "identical requests share one render, so this measures the studio's concurrency, not the renderer"
    )
    print(f"visitors: {driver}")
    print(f"command: {command(args)}   (from the repository root)")
    runs = []
    for mode in ("ours",) + (() if args.skip_defaults else ("defaults",)):
        run = run_mode(mode, args)
        report(run, args)
        runs.append(run)
    if len(runs) == 2 and runs[0].visits:
        ours, defaults = runs
        ours_ratio = ours.wall_s / args.task_seconds
        projected = project(defaults)
        if projected is not None:
            print(
                f"\nsummary (N = {args.visitors}, T = {args.task_seconds:g} s): wall/T = {ours_ratio:.2f} as configured"
                " "
                f"vs ≈ {projected / args.task_seconds:.1f} with Gradio's defaults"
            )


if __name__ == "__main__":
    main()
