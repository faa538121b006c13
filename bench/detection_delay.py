"""From a task's SUCCEEDED on the simulator to the video in hand: the studio's page against the official SDK.

Usage, from the repository root::

    python bench/detection_delay.py [--repeat 5] [--cadence-repeat 3] [--pending 0.5] [--running 3]

Starts the standalone simulator (``python -m studio.simulator --port P --pending 0.5 --running 3``) and the studio
(``python app.py``, STUDIO_PROVIDER=simulator, STUDIO_BASE_URL pointing at that simulator), both on free loopback
ports with their own folders. The SUCCEEDED moment of a task is taken by this script itself: as soon as a task id
is known it polls ``GET /v1/tasks/{id}`` on the simulator every 20 ms and timestamps the first answer that says
SUCCEEDED (the resolution is the gap between those polls, printed). Then, interleaved, ``--repeat`` times:

* studio: one visitor generates through Gradio's queue API (upload, ``/generate_image_to_video``, the SSE stream,
  as ``bench/concurrency.py`` does); the task id is read from the status panel (``.rs-task-id``); the delay ends when
  the stream delivers the update carrying the video (``data-phase="succeeded"``). The studio polls the simulator
  every 0.5 s (+-20 % jitter), then downloads the clip, checks it and saves a poster before offering it.
* SDK: ``runwayml.RunwayML(...).image_to_video.create(...)`` with the same body, then ``.wait_for_task_output()``;
  the delay ends when it returns (with the output URL: a second figure adds downloading the clip). The SDK sleeps
  POLL_TIME +- POLL_JITTER/2 = 4.5-7.5 s before every poll, by design.
* ``--cadence-repeat`` times, the studio's own client (``studio.client.RunwayClient``) with the real providers'
  cadence (openai-hk's table, ``poll_interval_s=5.0``, +-20 % jitter) against the same simulator, followed by the
  studio's vault step (``studio.vault.keep_output``: download, probe, poster), i.e. the studio's job on a real
  provider minus the history writes and Gradio's stream.

Every request is the same (bundled image, 960:960, 5 s, fixed seed), so the simulator renders the clip once, in an
untimed warm-up. With fixed task times the phase of the poll grid against the SUCCEEDED moment is fixed too, so
the script also prints the delay expected for tasks of random length (mean of a renewal process's residual life:
E[I^2] / 2E[I] for a poll interval I). All traffic is loopback; the script stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import ROOT
from harness.gradio_queue import Endpoint, Generation, run_event, upload
from harness.image_to_video import DURATION, IMAGE, PROMPT, RATIO, SEED, generate_endpoint, studio_form
from harness.machine import load, machine
from harness.servers import LOOPBACK, Proc, clean_up, print_problems, start_simulator, start_studio
from harness.stats import spread

SIM_POLL_S = 0.02  # how often this script asks the simulator whether the task has SUCCEEDED
SDK_SLEEP = (4.5, 7.5)  # runwayml.lib.polling: POLL_TIME 6 +- POLL_JITTER 3 / 2 before every poll
STUDIO_JITTER = 0.2  # RunwayClient's poll_jitter: each interval is poll_interval_s x (1 +- 0.2)
RUN_TIMEOUT_S = 120.0


# --- the SUCCEEDED moment ---------------------------------------------------------------------------------------------


@dataclass
class Moment:
    at: float  # perf_counter when the first SUCCEEDED answer arrived
    gap_s: float  # time since the answer before it: the resolution of ``at``


async def first_succeeded(http: Any, sim_url: str, task_id: str, *, every_s: float = SIM_POLL_S) -> Moment:
    """Poll the simulator for ``task_id`` until it says SUCCEEDED; when that answer arrived."""
    deadline = time.perf_counter() + RUN_TIMEOUT_S
    last = time.perf_counter()
    headers = {"Authorization": "Bearer bench"}  # the simulator takes any Bearer key
    while time.perf_counter() < deadline:
        response = await http.get(f"{sim_url}/v1/tasks/{task_id}", headers=headers)
        now = time.perf_counter()
        status = response.json().get("status") if response.status_code == 200 else None
        if status == "SUCCEEDED":
            return Moment(now, now - last)
        if status in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"task {task_id} ended {status}: {response.text[:200]}")
        last = now
        await asyncio.sleep(every_s)
    raise TimeoutError(f"task {task_id} did not succeed within {RUN_TIMEOUT_S:.0f} s")


# --- the three ways of waiting ----------------------------------------------------------------------------------------


@dataclass
class Result:
    delays: dict[str, float] = field(default_factory=dict)  # label -> seconds after the SUCCEEDED moment
    gap_s: float = 0.0
    error: str | None = None


Marks = dict[str, float]  # label -> when (perf_counter) it happened


async def after_succeeded(http: Any, sim_url: str, wait: Callable[[Callable[[str], None]], Awaitable[Marks]]) -> Result:
    """One way of waiting, timed from the SUCCEEDED moment: ``wait(found)`` calls ``found(task_id)`` as soon as it
    knows the task, which starts polling the simulator for that moment, and returns its marks."""
    poller: list[asyncio.Task[Moment]] = []

    def found(task_id: str) -> None:
        if not poller:
            poller.append(asyncio.create_task(first_succeeded(http, sim_url, task_id)))

    result = Result()
    try:
        marks = await wait(found)
        if not poller:
            raise RuntimeError("no task id was seen")
        moment = await poller[0]
    except Exception as err:
        result.error = f"{type(err).__name__}: {err}"
        for task in poller:
            task.cancel()
        return result
    result.gap_s = moment.gap_s
    result.delays = {label: at - moment.at for label, at in marks.items()}
    return result


async def studio_once(http: Any, base: str, sim_url: str, endpoint: Endpoint, image: bytes) -> Result:
    """One visitor: upload, generate, and read the session's stream until Gradio closes it."""

    async def visit(found: Callable[[str], None]) -> Marks:
        visitor = Generation()
        file = await upload(http, base, image, IMAGE.name)

        def on_update(v: Generation) -> None:
            if v.task_id:
                found(v.task_id)

        await run_event(http, base, endpoint, visitor, file=file, until_closed=True, on_update=on_update)
        if visitor.error or visitor.phase != "succeeded" or "video" not in visitor.seen:
            raise RuntimeError(visitor.error or f"the stream ended at phase {visitor.phase} without a video")
        return {label: visitor.seen[label] for label in ("downloading", "video") if label in visitor.seen}

    return await after_succeeded(http, sim_url, lambda found: asyncio.wait_for(visit(found), RUN_TIMEOUT_S))


async def sdk_once(http: Any, sdk: Any, sim_url: str, uri: str) -> Result:
    """The official SDK: create, then ``wait_for_task_output``, then download the clip."""

    async def wait(found: Callable[[str], None]) -> Marks:
        task = await asyncio.to_thread(
            sdk.image_to_video.create,
            model="gen4_turbo",
            prompt_image=[{"uri": uri, "position": "first"}],
            ratio=RATIO,
            duration=int(DURATION),
            seed=SEED,
            prompt_text=PROMPT,
        )
        found(task.id)
        done = await asyncio.to_thread(task.wait_for_task_output, timeout=RUN_TIMEOUT_S)
        returned = time.perf_counter()
        clip = await http.get(done.output[0])
        clip.raise_for_status()
        return {"returned": returned, "downloaded": time.perf_counter()}

    return await after_succeeded(http, sim_url, wait)


async def cadence_once(http: Any, client: Any, sim_url: str, request: Any, folder: Path) -> Result:
    """The studio's own client at the real providers' cadence, then its vault step (download, probe, poster)."""
    from studio.tasks import Succeeded
    from studio.vault import keep_output

    async def wait(found: Callable[[str], None]) -> Marks:
        created = await client.create(request, key="bench")
        found(created.task_id)
        seen = None
        async for event in client.wait(created.task_id, key="bench", timeout_s=RUN_TIMEOUT_S):
            if isinstance(event, Succeeded):
                seen = (time.perf_counter(), event)
                break
        if seen is None:
            raise RuntimeError("the task ended without succeeding")
        await keep_output(client, seen[1].outputs[0], folder=folder)
        return {"seen": seen[0], "kept": time.perf_counter()}

    return await after_succeeded(http, sim_url, wait)


# --- the run ----------------------------------------------------------------------------------------------------------


def expected_residual(interval_s: float, jitter: float) -> float:
    """Mean wait from a random moment to the next poll when intervals are uniform in interval x (1 +- jitter):
    E[I^2] / 2E[I] (the residual life of a renewal process), the delay a task of random length sees."""
    low, high = interval_s * (1 - jitter), interval_s * (1 + jitter)
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    return (mean * mean + var) / (2 * mean)


def command(args: argparse.Namespace) -> str:
    return (
        f"python bench/detection_delay.py --repeat {args.repeat} --cadence-repeat {args.cadence_repeat} "
        f"--pending {args.pending:g} --running {args.running:g}"
    )


async def measure(args: argparse.Namespace, studio_url: str, sim_url: str, folder: Path) -> dict[str, list[Result]]:
    import httpx
    from runwayml import RunwayML

    from studio import media
    from studio.capabilities import OPENAI_HK, SIMULATOR
    from studio.client import RunwayClient
    from studio.forms import prepare_blocking

    endpoint = await asyncio.to_thread(generate_endpoint, studio_url)
    image = IMAGE.read_bytes()
    # The SDK sends what the studio sends: the same prepared image, so all three share the simulator's one render.
    uri = (
        await asyncio.to_thread(
            media.prepare_image, IMAGE, field="First frame", ratio=RATIO, fit="crop", limits=SIMULATOR.limits
        )
    ).data_uri
    request = (await asyncio.to_thread(prepare_blocking, studio_form(), provider=OPENAI_HK, workdir=folder)).request
    sdk = RunwayML(api_key="bench", base_url=sim_url)  # any key: the simulator takes any Bearer key
    cadence = RunwayClient(provider=OPENAI_HK, base_url=sim_url, poll_interval_s=5.0)
    kept = folder / "kept"
    kept.mkdir()
    results: dict[str, list[Result]] = {"studio": [], "sdk": [], "cadence": []}
    limits = httpx.Limits(max_keepalive_connections=0)  # a fresh connection per request, as in concurrency.py
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits, trust_env=False) as http:
        warm = await studio_once(
            http, studio_url, sim_url, endpoint, image
        )  # renders the shared clip; warms the server
        if warm.error:
            raise SystemExit(f"the warm-up visitor failed: {warm.error}")
        for index in range(max(args.repeat, args.cadence_repeat)):
            if index < args.repeat:
                results["studio"].append(await studio_once(http, studio_url, sim_url, endpoint, image))
                results["sdk"].append(await sdk_once(http, sdk, sim_url, uri))
            if index < args.cadence_repeat:
                results["cadence"].append(await cadence_once(http, cadence, sim_url, request, kept))
    await cadence.aclose()
    sdk.close()
    return results


def summary(results: list[Result], key: str) -> tuple[float, float, float, int] | None:
    values = [r.delays[key] for r in results if r.error is None and key in r.delays]
    return spread(values) if values else None


def report(results: dict[str, list[Result]], args: argparse.Namespace) -> None:
    rows = [
        ("studio page, polling the simulator every 0.5 s +-20 %", None, None),
        ("  SUCCEEDED -> 'downloading' shown on the page", "studio", "downloading"),
        ("  SUCCEEDED -> video offered on the page", "studio", "video"),
        ("official SDK wait_for_task_output (sleeps 4.5-7.5 s before each poll)", None, None),
        ("  SUCCEEDED -> wait_for_task_output returns (URL)", "sdk", "returned"),
        ("  SUCCEEDED -> ... and the clip downloaded", "sdk", "downloaded"),
        ("studio client at the real providers' cadence (5 s +-20 %)", None, None),
        ("  SUCCEEDED -> the client sees it", "cadence", "seen"),
        ("  SUCCEEDED -> clip kept (download, probe, poster)", "cadence", "kept"),
    ]
    print(f"\n{'delay after SUCCEEDED':<72}{'median s':>9}{'min s':>8}{'max s':>8}{'n':>4}")
    for label, who, key in rows:
        stats = summary(results[who], key) if who and key else None
        if who is None:
            print(label)
        elif stats is None:
            print(f"{label:<72}{'n/a':>9}")
        else:
            median, low, high, n = stats
            print(f"{label:<72}{median:>9.2f}{low:>8.2f}{high:>8.2f}{n:>4}")
    gaps = [r.gap_s for rs in results.values() for r in rs if r.error is None]
    if gaps:
        print(
            "resolution of the SUCCEEDED moment: this script's polls were "
            f"{statistics.median(gaps) * 1000:.0f} ms apart "
            f"(median; max {max(gaps) * 1000:.0f} ms)"
        )
    for who, rs in results.items():
        for r in rs:
            if r.error:
                print(f"  error ({who}): {r.error[:200]}")
    studio, sdk = summary(results["studio"], "video"), summary(results["sdk"], "returned")
    sdk_dl = summary(results["sdk"], "downloaded")
    if studio and sdk and studio[0] > 0:
        print(
            f"\nratio SDK returns / studio page offers the video (medians): {sdk[0] / studio[0]:.1f}x"
            + (f"; with the SDK's clip downloaded too: {sdk_dl[0] / studio[0]:.1f}x" if sdk_dl else "")
        )
    cadence = summary(results["cadence"], "kept")
    if cadence and sdk_dl and cadence[0] > 0:
        print(f"ratio SDK + download / studio client at 5 s + kept (medians): {sdk_dl[0] / cadence[0]:.1f}x")
    task_s = args.pending + args.running
    print(
        "\nThe simulator's 0.5 s cadence favours the studio here: on openai-hk and Runway it polls every 5 s. "
        "With this\n"
        f"fixed task time ({task_s:g} s + render) each poll grid meets SUCCEEDED at one phase; "
        "for tasks of random length\n"
        "the expected wait for the next poll (E[I^2]/2E[I]) is:\n"
        f"  studio on the simulator (0.5 s +-20 %): {expected_residual(0.5, STUDIO_JITTER):.2f} s\n"
        f"  studio on a real provider (5 s +-20 %): {expected_residual(5.0, STUDIO_JITTER):.2f} s\n"
        f"  official SDK (4.5-7.5 s):              {expected_residual(6.0, 0.25):.2f} s\n"
        "plus, for the studio, keeping the clip (the download/probe/poster step above) and the stream to the page."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed studio and SDK runs, interleaved (default 5)")
    parser.add_argument(
        "--cadence-repeat", type=int, default=3, help="runs at the real providers' 5 s cadence (default 3)"
    )
    parser.add_argument("--pending", type=float, default=0.5, help="simulator PENDING seconds (default 0.5)")
    parser.add_argument("--running", type=float, default=3.0, help="simulator RUNNING seconds (default 3)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs and data folders")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK  # gradio_client's and the SDK's httpx: never a proxy
    print("detection delay: a task's SUCCEEDED on the simulator -> the video in hand (studio page vs official SDK)")
    print(f"machine: {machine('gradio', 'gradio_client', 'httpx', 'runwayml')}")
    print(f"load average before: {load()}   (a shared machine: other work slows every figure down)")
    print(f"command: {command(args)}   (from the repository root)")
    folder = Path(tempfile.mkdtemp(prefix="studio-bench-detect-"))
    print(
        f"request: {IMAGE.relative_to(ROOT)}, gen4_turbo, ratio {RATIO}, {DURATION} s, seed {SEED} (one shared render)"
    )
    procs: list[Proc] = []
    try:
        try:
            simulator = start_simulator(folder, pending=args.pending, running=args.running)
            procs.append(simulator)
            print(f"simulator: {' '.join(['python', *simulator.command[1:-2]])} (standalone, loopback)")
            print(f"studio: python app.py with STUDIO_PROVIDER=simulator STUDIO_BASE_URL={simulator.url}")
            procs.append(start_studio(folder, STUDIO_BASE_URL=simulator.url))
        except RuntimeError as err:
            raise SystemExit(str(err)) from None
        results = asyncio.run(measure(args, procs[1].url, simulator.url, folder))
    finally:
        for proc in reversed(procs):
            proc.stop()
    report(results, args)
    print_problems(procs)
    print(f"load average after: {load()}")
    clean_up(folder, keep=args.keep_logs)


if __name__ == "__main__":
    main()
