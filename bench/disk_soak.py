"""Disk soak: many generations on the simulator in-process, the data dir's size over time, with and without the disk
policy.

Usage, from the repository root::

    python bench/disk_soak.py [--generations 1000] [--before 200] [--visitors 8] [--max-data-gb 0.02]

What runs (one process, no network): the studio on the embedded simulator as tests/rigs.py sets it up (the
simulator behind ``httpx.ASGITransport``, the simulator, the client and the history on one fake clock whose sleeps
wait for the clips being rendered), the simulator's clips in the data dir as ``studio.wiring`` puts them
(``<data>/simulator``), fast settings (PENDING 0.1 s, RUNNING 0.2 s of fake time). ``--visitors`` visitors press
Generate on Image to Video over and over (``Studio.submit``, then the job to its end). Each press sends one of five
images (visitor v's k-th press: image ``(v + k) % 5``, as visitors re-send what they uploaded) with one of
``--seeds`` seeds (``(v + k) // 5 % seeds``): as in bench/soak.py, the simulator renders one clip per distinct
request, so the pool bounds the render cost (2 shared cores), while every generation still downloads, checks and
keeps its own copy of its clip and poster. Every 25th generation is starred once it ends.

Two phases, each in a fresh data dir:

* ``before``: ``--before`` generations as the studio kept them before the disk policy: every generation copies its
  inputs (``inputs/<generation id>/first.png``), no retention, and the simulator's copy of each clip stays (its
  links last 24 h, far longer than the phase's fake time);
* ``after``: ``--generations`` generations with inputs stored once by content, ``STUDIO_MAX_DATA_GB=--max-data-gb``,
  and the retention pass (``Studio.keep_disk_bounded``, the background loop's every minute) run after every 10th
  generation ends, while the other visitors' generations are running.

Reported: the data dir's size every 100 generations (and its largest after any retention pass, and at any sample),
disk per generation in each phase (the data dir's size over the generations made; in ``after``, over the
generations whose files are still kept, and the size over all generations made), and the checks: no running
generation's files removed (every generation ended with its clip, and the pass only ever marks ended rows), no
starred generation's files removed, the data dir under the limit after every pass. Gradio's own folders (uploads,
its cache of served clips) are not in play in-process: tests/test_disk.py covers their trimming. Whatever the
results, the script exits 0 and ends with ``GOALS MET`` or ``GOALS NOT MET: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness.image_to_video import studio_form
from harness.machine import load, machine
from PIL import Image

from studio.capabilities import SIMULATED_DIALECTS, SIMULATOR
from studio.client import RunwayClient
from studio.disk import GB, DiskPolicy, file_bytes, size_of
from studio.forms import Form, MediaInput
from studio.history import HistoryStore
from studio.phases import ENDED
from studio.service import Studio
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig

IMAGES = 5
STAR_EVERY = 25
RETAIN_EVERY = 10  # generations ended between two retention passes (the background loop's minute)
SAMPLE_EVERY = 100
MB = 1024 * 1024


class FakeClock:
    """Fake time for the simulator, the client and the history: a sleep moves it (tests/fakes.py's)."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:  # the history's rows carry this clock's times
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0.002)


class CopyingStudio(Studio):
    """The studio as it kept inputs before: a copy per generation, in a folder named by its id."""

    def _keep_inputs(self, form: Form, generation_id: str) -> Form:
        folder = self.inputs / generation_id
        kept: dict[str, MediaInput] = {}
        for name, given in form.media().items():
            if given.path and Path(given.path).is_file():
                folder.mkdir(parents=True, exist_ok=True)
                dest = folder / f"{name}{Path(given.path).suffix.lower()}"
                shutil.copyfile(given.path, dest)
                kept[name] = MediaInput(path=str(dest), url=given.url)
        return form.with_media(kept)


@dataclass
class Phase:
    name: str
    data: Path
    studio: Studio
    engine: Any
    clock: FakeClock
    limit: int | None
    made: int = 0
    failed: list[str] = field(default_factory=list)
    starred: list[str] = field(default_factory=list)
    samples: list[tuple[int, float]] = field(default_factory=list)  # (generations made, data dir MB)
    after_pass_max: float = 0.0
    passes: int = 0
    removed: int = 0
    running_seen_in_passes: int = 0
    over: list[tuple[int, float]] = field(default_factory=list)  # (generation, MB over) after a pass
    problems: list[str] = field(default_factory=list)


def build(name: str, data: Path, *, before: bool, limit: int | None) -> Phase:
    clock = FakeClock()
    config = SimulatorConfig(pending_s=0.1, running_s=0.2, output_dir=data / "simulator")
    simulator = create_app(config, clock=clock)
    engine = simulator.state.engine
    prefix = next(p for p, s in SIMULATED_DIALECTS.items() if s.models == SIMULATOR.models)

    async def sleep(seconds: float) -> None:  # as tests/rigs.py: fake time moves once the clips being made are made
        renders = [t.render for t in engine.tasks.values() if t.render is not None and not t.render.done()]
        if renders:
            await asyncio.wait(renders)
        await clock.sleep(seconds)

    client = RunwayClient(
        provider=SIMULATOR,
        base_url="http://sim" + prefix,
        transport=httpx.ASGITransport(app=simulator),
        sleep=sleep,
        clock=clock,
    )
    kind = CopyingStudio if before else Studio
    studio = kind(
        clients={SIMULATOR.name: client},
        server_provider=SIMULATOR.name,
        server_key="",
        data_dir=data,
        history=HistoryStore(data / "history.sqlite3", clock=clock),
        clock=clock,
        disk=DiskPolicy(max_data_bytes=limit),
    )
    return Phase(name, data, studio, engine, clock, limit)


def make_images(folder: Path) -> list[Path]:
    """Five distinct images, each the bundled picture at 480x480, tinted (tens of KB each, as uploads are)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = Image.open(Path(str(studio_form().media()["first"].path))).convert("RGB").resize((480, 480))
    paths = []
    for i in range(IMAGES):
        tinted = Image.blend(base, Image.new("RGB", base.size, (40 * i, 255 - 40 * i, 90)), 0.15)
        path = folder / f"upload-{i}.png"
        tinted.save(path)
        paths.append(path)
    return paths


async def visitor(phase: Phase, v: int, images: list[Path], total: int, seeds: list[int]) -> None:
    k = 0
    while phase.made < total:
        phase.made += 1
        number = phase.made
        form = studio_form(images[(v + k) % IMAGES]).replace(seed=seeds[(v + k) // IMAGES % len(seeds)])
        k += 1
        job = await phase.studio.submit(form, provider=SIMULATOR.name, visitor=f"browser:v{v}", visitor_key=None)
        status = await job.wait_done()
        row = phase.studio.history.get(job.generation_id)
        if status.phase != "succeeded" or row is None or not row.output_path or not Path(row.output_path).is_file():
            phase.failed.append(f"{job.generation_id} ({status.phase})")  # a running one's files went, or it failed
        elif number % STAR_EVERY == 0:
            await phase.studio.star(job.generation_id, visitor=f"browser:v{v}", starred=True)
            phase.starred.append(job.generation_id)
        if phase.limit is not None and number % RETAIN_EVERY == 0:
            running = len(phase.studio.history.unfinished())
            phase.running_seen_in_passes += running
            phase.removed += await phase.studio.keep_disk_bounded()
            phase.passes += 1
            phase.after_pass_max = max(phase.after_pass_max, size_of(phase.data) / MB)
            if size_of(phase.data) > phase.limit:
                phase.over.append((number, (size_of(phase.data) - phase.limit) / MB))
        if number % SAMPLE_EVERY == 0:
            phase.samples.append((number, size_of(phase.data) / MB))


async def run_phase(phase: Phase, total: int, visitors: int, images: list[Path], seeds: list[int]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(visitor(phase, v, images, total, seeds) for v in range(visitors)))
    for task in list(phase.engine.tasks.values()):  # leave no render thread behind
        if task.render is not None:
            await asyncio.gather(task.render, return_exceptions=True)
    return time.perf_counter() - started


def check(phase: Phase) -> None:
    db = sqlite3.connect(f"file:{phase.data / 'history.sqlite3'}?mode=ro", uri=True)
    marks = ",".join("?" * len(ENDED))
    removed_not_ended = db.execute(
        f"SELECT COUNT(*) FROM generations WHERE removed_at IS NOT NULL AND status NOT IN ({marks})", ENDED
    ).fetchone()[0]
    removed_starred = db.execute("SELECT COUNT(*) FROM generations WHERE removed_at IS NOT NULL AND starred = 1")
    if removed_not_ended:
        phase.problems.append(f"{removed_not_ended} generations not ended had their files removed")
    if removed_starred.fetchone()[0]:
        phase.problems.append("a starred generation's files were removed")
    for gid in phase.starred:
        row = db.execute("SELECT output_path, poster_path, form FROM generations WHERE id = ?", (gid,)).fetchone()
        if row is None or not all(p and Path(p).is_file() for p in row[:2]):
            phase.problems.append(f"starred {gid} lost its clip")
    if phase.over:
        worst = max(mb for _, mb in phase.over)
        phase.problems.append(f"over the limit after {len(phase.over)} passes (by up to {worst:.2f} MB)")
    if phase.failed:
        phase.problems.append(f"{len(phase.failed)} generations ended without their clip: {phase.failed[:3]}")
    db.close()


def kept_count(phase: Phase) -> int:
    db = sqlite3.connect(f"file:{phase.data / 'history.sqlite3'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM generations WHERE removed_at IS NULL").fetchone()[0])
    finally:
        db.close()


def breakdown(data: Path) -> str:
    parts = {name: size_of(data / name) / MB for name in ("outputs", "inputs", "simulator")}
    parts["history db and its WAL"] = file_bytes(*data.glob("history.sqlite3*")) / MB
    return ", ".join(f"{name} {mb:.1f} MB" for name, mb in parts.items())


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--before", type=int, default=200, help="generations in the 'before' phase")
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=4, help="seeds in the pool (renders: 5 x seeds)")
    parser.add_argument("--max-data-gb", type=float, default=0.02)
    parser.add_argument("--keep", action="store_true", help="keep the data dirs (their paths are printed)")
    args = parser.parse_args()
    limit = int(args.max_data_gb * GB)
    seeds = random.Random(13).sample(range(1, 4_294_967_295), args.seeds)

    print(f"machine: {machine('gradio', 'av')}; load {load()}")
    root = Path(tempfile.mkdtemp(prefix="disk-soak-"))
    images = make_images(root / "uploads")
    print(f"inputs: {IMAGES} images of {', '.join(f'{p.stat().st_size // 1024} KB' for p in images)}")
    goals: list[str] = []
    try:
        before = build("before", root / "before", before=True, limit=None)
        took = await run_phase(before, args.before, args.visitors, images, seeds)
        check(before)
        size_b = size_of(before.data)
        per_b = size_b / args.before
        print(f"\n== before: {args.before} generations in {took:.0f} s, no dedup, no retention, simulator copies kept")
        for n, mb in before.samples:
            print(f"  after {n:5d} generations: data dir {mb:7.1f} MB")
        print(f"  end: {size_b / MB:.1f} MB ({breakdown(before.data)})")
        print(f"  disk per generation: {per_b / 1024:.0f} KB")
        goals += [f"before: {p}" for p in before.problems]
        await before.studio.aclose()
        before.studio.history.close()

        after = build("after", root / "after", before=False, limit=limit)
        took = await run_phase(after, args.generations, args.visitors, images, seeds)
        check(after)
        size_a = size_of(after.data)
        kept = kept_count(after)
        print(
            f"\n== after: {args.generations} generations in {took:.0f} s, inputs by content, "
            f"STUDIO_MAX_DATA_GB={args.max_data_gb:g} ({limit / MB:.1f} MB), a retention pass every {RETAIN_EVERY}"
        )
        for n, mb in after.samples:
            print(f"  after {n:5d} generations: data dir {mb:7.1f} MB")
        print(
            f"  largest after a pass: {after.after_pass_max:.1f} MB; largest sampled: "
            f"{max((mb for _, mb in after.samples), default=0):.1f} MB; limit {limit / MB:.1f} MB"
        )
        print(f"  end: {size_a / MB:.1f} MB ({breakdown(after.data)})")
        print(
            f"  passes: {after.passes}, generations whose files were removed: {after.removed}, rows kept in "
            f"History: {args.generations} (files kept for {kept}, {len(after.starred)} starred); generations "
            f"running during the passes (summed): {after.running_seen_in_passes}"
        )
        per_kept = size_a / max(kept, 1)
        print(
            f"  disk per generation kept: {per_kept / 1024:.0f} KB (before: {per_b / 1024:.0f} KB); over all "
            f"{args.generations} made: {size_a / args.generations / 1024:.0f} KB"
        )
        goals += [f"after: {p}" for p in after.problems]
        await after.studio.aclose()
        after.studio.history.close()
    finally:
        if args.keep:
            print(f"\ndata kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("\nGOALS MET" if not goals else "\nGOALS NOT MET: " + "; ".join(goals))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
