"""The studio's memory with 100 live generations: RSS before, with every generation RUNNING, and after.

Usage, from the repository root::

    python bench/memory.py [--visitors 100] [--running 90] [--finish] [--samples 3]

Starts the studio as ``python app.py`` on a free loopback port, on its embedded simulator with a long RUNNING time
(STUDIO_SIM_RUNNING_S, default 90 s) so the generations stay live, with its own data folder. One untimed visitor
first generates and cancels (it warms every code path and starts the simulator's one shared render, then the
script waits for the server's CPU to go quiet). Then:

1. RSS before (VmRSS from /proc/<pid>/status; the median of ``--samples`` readings 0.5 s apart).
2. ``--visitors`` visitors, each with its own Gradio session, upload the same image and call
   ``/generate_image_to_video``, and keep their SSE streams open; once every one shows ``data-phase="running"``,
   RSS again: the increment per live generation is (running - before) / visitors.
3. Every visitor cancels through ``/cancel_image_to_video`` with its own session (the studio's Cancel button), or
   with ``--finish`` the generations are left to finish (each keeps its clip and a poster); when every stream has
   closed and the server's CPU is quiet, RSS after, with the peak (VmHWM), threads and open files at each step.

The requests are identical (same image, ratio, duration and a fixed seed), so the embedded simulator renders one
clip for all of them: the figures are the studio's, not 100 renders'. The server's RSS includes the embedded
simulator's 100 tasks (small records). All traffic is loopback; the script stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ROOT
from harness.gradio_queue import Generation, describe, join, run_event, upload
from harness.image_to_video import CANCEL_API, IMAGE, RATIO, SEED, generate_endpoint
from harness.machine import load, machine, proc_cpu_s, proc_status
from harness.servers import LOOPBACK, clean_up, print_problems, start_studio

PHASE_TIMEOUT_S = 150.0  # every visitor RUNNING within this, or the run reports what it reached


@dataclass
class Snapshot:
    rss_mb: float
    hwm_mb: float
    threads: int
    fds: int


def snapshot(pid: int, samples: int) -> Snapshot:
    """VmRSS as the median of ``samples`` readings 0.5 s apart; the peak, threads and open files at the end."""
    rss = []
    for index in range(max(1, samples)):
        if index:
            time.sleep(0.5)
        rss.append(int(proc_status(pid)["VmRSS"].split()[0]) / 1024)
    fields = proc_status(pid)
    return Snapshot(
        rss_mb=statistics.median(rss),
        hwm_mb=int(fields["VmHWM"].split()[0]) / 1024,
        threads=int(fields["Threads"]),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
    )


UPKEEP_TICK_S = 12.0  # the studio hands freed memory back every 10 s (studio.ui.upkeep.TRIM_EVERY_S)


def settle(pid: int, *, quiet_cpu_s: float = 0.1, window_s: float = 1.0, limit_s: float = 30.0) -> float:
    """Wait until the server used less than ``quiet_cpu_s`` of CPU in a ``window_s`` window (at most ``limit_s``)."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        before = proc_cpu_s(pid)
        time.sleep(window_s)
        if proc_cpu_s(pid) - before < quiet_cpu_s:
            break
    return time.monotonic() - start


async def wait_for(visitors: list[Generation], tasks: list[asyncio.Task[None]], phase: str, limit_s: float) -> float:
    """Until every visitor has reached ``phase`` (or its stream ended); the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        if all(phase in v.seen or t.done() for v, t in zip(visitors, tasks)):
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def measure(args: argparse.Namespace, url: str, pid: int) -> dict[str, Any]:
    import httpx

    endpoint = await asyncio.to_thread(generate_endpoint, url)
    cancel = await asyncio.to_thread(describe, url, CANCEL_API)  # its one input, the visitor token, left empty
    image = IMAGE.read_bytes()
    out: dict[str, Any] = {}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)  # a fresh connection per request
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits, trust_env=False) as http:

        async def visit(visitor: Generation) -> None:
            try:
                file = await upload(http, url, image, IMAGE.name)
                await run_event(http, url, endpoint, visitor, file=file, until_closed=True)
            except Exception as err:
                visitor.error = f"{type(err).__name__}: {err}"

        # Warm-up: one generation, cancelled once RUNNING (it also starts the shared render); then let CPU settle.
        warm = Generation()
        warm_task = asyncio.create_task(visit(warm))
        await wait_for([warm], [warm_task], "running", 120.0)
        await join(http, url, cancel, warm.session)
        await asyncio.wait_for(warm_task, 60.0)
        if warm.phase != "cancelled":
            raise SystemExit(f"the warm-up visitor ended at phase {warm.phase}: {warm.error}")
        out["settle_before_s"] = await asyncio.to_thread(settle, pid)
        out["before"] = await asyncio.to_thread(snapshot, pid, args.samples)

        visitors = [Generation() for _ in range(args.visitors)]
        started = time.perf_counter()
        tasks = [asyncio.create_task(visit(v)) for v in visitors]
        out["to_running_s"] = await wait_for(visitors, tasks, "running", PHASE_TIMEOUT_S)
        out["running_count"] = sum("running" in v.seen and not t.done() for v, t in zip(visitors, tasks))
        out["running"] = await asyncio.to_thread(snapshot, pid, args.samples)
        open_streams = sum(not t.done() for t in tasks)
        out["open_streams"] = open_streams

        if args.finish:
            out["end"] = "left to finish"
        else:
            out["end"] = "cancelled (/cancel_image_to_video, same session)"
            joined = await asyncio.gather(
                *(join(http, url, cancel, v.session) for v, t in zip(visitors, tasks) if not t.done()),
                return_exceptions=True,
            )
            out["cancel_errors"] = [repr(j) for j in joined if isinstance(j, BaseException)]
        limit = args.running + args.pending + 120.0 if args.finish else 120.0
        _done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        out["to_end_s"] = time.perf_counter() - started
        out["phases"] = {}
        for v in visitors:
            key = v.phase or "none"
            out["phases"][key] = out["phases"].get(key, 0) + 1
        out["errors"] = [v.error for v in visitors if v.error]
        out["unfinished"] = len(pending)
    out["settle_after_s"] = await asyncio.to_thread(settle, pid)
    await asyncio.sleep(UPKEEP_TICK_S)  # "after" is the server at rest: past one tick of its memory upkeep
    out["after"] = await asyncio.to_thread(snapshot, pid, args.samples)
    return out


def command(args: argparse.Namespace) -> str:
    return f"python bench/memory.py --visitors {args.visitors} --running {args.running:g} --samples {args.samples}" + (
        " --finish" if args.finish else ""
    )


def report(out: dict[str, Any], args: argparse.Namespace) -> None:
    n = args.visitors
    before, running, after = out["before"], out["running"], out["after"]
    print(f"\n{'':<44}{'RSS MB':>8}{'peak MB':>9}{'threads':>9}{'open fds':>10}")
    for label, snap in (
        ("before (idle, after a warm-up generation)", before),
        (f"{out['running_count']} of {n} generations RUNNING, streams open", running),
        (f"after ({out['end'].split(' (')[0]})", after),
    ):
        print(f"{label:<44}{snap.rss_mb:>8.0f}{snap.hwm_mb:>9.0f}{snap.threads:>9}{snap.fds:>10}")
    grew = running.rss_mb - before.rss_mb
    print(
        f"per live generation: ({running.rss_mb:.0f} - {before.rss_mb:.0f}) / {n} = {grew / n * 1024:.0f} KB "
        f"({grew / max(before.rss_mb, 1e-9):.0%} growth for {n})"
    )
    print(
        f"after - before: {after.rss_mb - before.rss_mb:+.0f} MB ({(after.rss_mb - before.rss_mb) / n * 1024:+.0f} KB "
        f"per generation kept); peak {after.hwm_mb:.0f} MB = {after.hwm_mb / max(before.rss_mb, 1e-9):.2f}x before"
    )
    print(
        f"press -> all RUNNING: {out['to_running_s']:.1f} s; press -> every stream closed: {out['to_end_s']:.1f} s; "
        f"end: {out['end']}"
    )
    print(
        f"final phases: {', '.join(f'{k} {v}' for k, v in sorted(out['phases'].items()))}"
        + (f"; {out['unfinished']} streams still open at the limit" if out["unfinished"] else "")
    )
    print(
        f"waited for the server's CPU to go quiet: {out['settle_before_s']:.0f} s before, "
        f"{out['settle_after_s']:.0f} s after, "
        f"then {UPKEEP_TICK_S:.0f} s for one memory upkeep tick"
    )
    errors = out["errors"] + out.get("cancel_errors", [])
    if errors:
        print(f"errors: {len(errors)}, e.g. {errors[0][:200]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100, help="live generations at once (default 100)")
    parser.add_argument("--running", type=float, default=90.0, help="simulator RUNNING seconds (default 90)")
    parser.add_argument("--pending", type=float, default=0.5, help="simulator PENDING seconds (default 0.5)")
    parser.add_argument("--finish", action="store_true", help="let the generations finish instead of cancelling them")
    parser.add_argument("--samples", type=int, default=3, help="RSS readings per step, 0.5 s apart (default 3)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server's log and data folder")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK
    print(f"memory: the studio's RSS with {args.visitors} live generations (streams open) on the embedded simulator")
    print(f"machine: {machine('gradio', 'gradio_client', 'httpx', 'uvicorn')}")
    print(f"load average before: {load()}   (a shared machine: other work slows the run, not the RSS figures)")
    print(
        f"request: {IMAGE.relative_to(ROOT)} uploaded by each visitor, ratio {RATIO}, fixed seed {SEED} (one shared "
        f"render); simulator PENDING {args.pending:g} s, RUNNING {args.running:g} s"
    )
    print(f"command: {command(args)}   (from the repository root)")
    folder = Path(tempfile.mkdtemp(prefix="studio-bench-memory-"))
    try:
        proc = start_studio(folder, STUDIO_SIM_PENDING_S=f"{args.pending:g}", STUDIO_SIM_RUNNING_S=f"{args.running:g}")
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    try:
        out = asyncio.run(measure(args, proc.url, proc.pid))
    finally:
        proc.stop()
    report(out, args)
    print_problems([proc])
    print(f"load average after: {load()}")
    clean_up(folder, keep=args.keep_logs)


if __name__ == "__main__":
    main()
