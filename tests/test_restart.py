"""A studio killed mid-task (``kill -9``) and started again picks the task up by itself.

The first two run ``python app.py`` as a user would, in a subprocess, submit an Image to Video generation with
gradio_client, kill the studio with SIGKILL while the task is running, read the SQLite history (read-only) to see
what was kept, and start the studio again on the same data dir with nobody connected:

- against the standalone simulator (``python -m studio.simulator``, which outlives the studio), the reconciler
  follows the same task to ``succeeded``, keeps a playable MP4 and its poster, never sends the create call again
  (the simulator's --admin stats count one creation), and never moves the status backwards;
- against the embedded simulator (which dies with the studio and forgets its tasks), the generation ends ``lost``
  with a reason saying so, rather than hanging forever or pretending to have succeeded.

A third, in-process, checks what a page following such a task is told when the provider forgets it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from tests.appclient import submit_paper_boats
from tests.conftest import ROOT, S3_KEYS, LaunchedStudio, Vault, free_port, simulator_argv
from tests.test_app_api import decode, phases, value

pytestmark = pytest.mark.app

STARTUP_S = 60.0  # `import gradio` alone takes ~5 s on this machine kind; launch-to-ready another ~5 s
RECOVERY_S = 30.0  # after the restart, the row must reach its end within this
# How far along each status is: a status may only ever move to the same or a later rank.
RANK = {
    "submitting": 0,
    "queued": 1,
    "throttled": 1,
    "running": 2,
    "downloading": 3,
    "succeeded": 4,
    "failed": 4,
    "cancelled": 4,
    "lost": 4,
}


# --- processes ------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Processes:
    """Every process a test started, so a ``finally`` can end each of them (by its own pid)."""

    started: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str], logs: Path) -> Proc:
        log = logs / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def end_all(self) -> None:
        for proc in self.started:
            if proc.popen.poll() is None:
                proc.popen.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL does not get ignored
                proc.popen.wait(timeout=10)


@contextmanager
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.end_all()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "GRADIO_", "RUNWAYML_"))}
    return env | {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"} | extra


def wait_http(
    url: str,
    proc: Proc,
    *,
    ok: tuple[int, ...] = (200,),
    timeout_s: float = STARTUP_S,
    headers: dict[str, str] | None = None,
) -> None:
    """Until ``url`` answers one of ``ok`` (bounded); fails early, with the log, if the process died."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.fail(f"{proc.name} exited with {proc.popen.returncode} before serving {url}:\n{proc.tail()}")
        try:
            response = httpx.get(url, timeout=2.0, headers=headers)
            if response.status_code in ok:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as err:
            last = type(err).__name__
        time.sleep(0.2)
    pytest.fail(f"{proc.name} did not serve {url} within {timeout_s:.0f} s ({last}):\n{proc.tail()}")


def start_studio(procs: Processes, env: dict[str, str], logs: Path) -> tuple[Proc, str]:
    port = env["GRADIO_SERVER_PORT"]
    proc = procs.spawn("studio", [sys.executable, "app.py"], env=env, logs=logs)
    url = f"http://127.0.0.1:{port}/"
    wait_http(url, proc)
    return proc, url


def start_simulator(procs: Processes, logs: Path, *, running_s: float) -> tuple[Proc, str]:
    port = free_port()
    argv = simulator_argv(
        port, pending_s=0.5, running_s=running_s, options=("--output-dir", str(logs / "sim-outputs"), "--admin")
    )
    proc = procs.spawn("simulator", argv, env=base_env(), logs=logs)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/v1/tasks/not-a-task", proc, ok=(404,), headers={"Authorization": "Bearer any"})
    return proc, base


# --- the generation and the history ---------------------------------------------------------------------------


def submit_until_running(url: str, studio: Proc) -> Any:
    """Submit an Image to Video generation; return the client once its stream shows "running"."""
    client = Client(url, verbose=False)
    job = submit_paper_boats(client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = phases(job.outputs())
        if any(p == "running" for p, _ in seen):
            return client
        if seen and seen[-1][0] in ("succeeded", "failed", "invalid", "cancelled"):
            pytest.fail(f"the generation ended before it could be interrupted: {seen}")
        time.sleep(0.05)
    pytest.fail(f"the stream never showed running within 30 s: {phases(job.outputs())}\n{studio.tail()}")


def read_db(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(generations, status changes by generation id), read through a read-only connection."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    db.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in db.execute("SELECT * FROM generations ORDER BY created_at")]
        changes: dict[str, list[dict[str, Any]]] = {}
        for r in db.execute("SELECT * FROM status_changes ORDER BY at, rowid"):
            changes.setdefault(r["generation_id"], []).append(dict(r))
        return rows, changes
    finally:
        db.close()


def follow_row(
    db: Path, generation_id: str, *, until: tuple[str, ...], timeout_s: float = RECOVERY_S
) -> tuple[dict[str, Any], list[str]]:
    """Poll the row (nobody is connected to the studio) until its status is one of ``until``; the statuses seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            rows, _ = read_db(db)
        except sqlite3.OperationalError:  # a writer holds the lock for a moment
            time.sleep(0.1)
            continue
        row = next(r for r in rows if r["id"] == generation_id)
        if not seen or seen[-1] != row["status"]:
            seen.append(row["status"])
        if row["status"] in until:
            return row, seen
        time.sleep(0.1)
    pytest.fail(f"the generation is still {row.get('status')!r} {timeout_s:.0f} s after the restart (seen {seen})")


def assert_never_backwards(statuses: list[str]) -> None:
    ranks = [RANK[s] for s in statuses]
    assert ranks == sorted(ranks), f"the status went backwards: {statuses}"


def kill_mid_task(studio: Proc, db: Path) -> dict[str, Any]:
    """SIGKILL the studio and return the one generation it left behind (checked to be open, with its task id)."""
    os.kill(studio.popen.pid, signal.SIGKILL)
    studio.popen.wait(timeout=10)
    assert studio.popen.returncode == -signal.SIGKILL
    rows, changes = read_db(db)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["task_id"], f"the task id was not kept before the kill: {row}"
    # The page had shown "running", and history is written before the page sees a status: it must say so too.
    assert row["status"] == "running", f"the page showed running, but history kept {row['status']!r}"
    logged = [c["status"] for c in changes[row["id"]]]
    assert logged == ["submitting", "queued", "running"], logged
    return row


# --- the tests ------------------------------------------------------------------------------------------------


def test_a_studio_killed_mid_task_picks_the_task_up_again(tmp_path: Path, vault: Vault) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    shared: dict[str, str] = {}  # with a bucket: the studio's process keeps the clip there (boto3's own credentials)
    if vault.bucket is not None:
        keys = {"AWS_ACCESS_KEY_ID": S3_KEYS["access_key"], "AWS_SECRET_ACCESS_KEY": S3_KEYS["secret_key"]}
        shared = vault.bucket.env() | keys
    logs.mkdir()
    db = data / "history.sqlite3"
    with processes() as procs:
        simulator, sim_url = start_simulator(procs, logs, running_s=6)
        env = base_env(
            STUDIO_PROVIDER="simulator",
            STUDIO_BASE_URL=sim_url,
            STUDIO_DATA_DIR=str(data),
            GRADIO_SERVER_PORT=str(free_port()),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_ANALYTICS_ENABLED="False",
            **shared,
        )
        studio, url = start_studio(procs, env, logs)
        client = submit_until_running(url, studio)
        before = kill_mid_task(studio, db)
        client.close()
        task_id = before["task_id"]

        restarted, _ = start_studio(procs, env, logs)  # nobody connects from here on
        row, seen = follow_row(db, before["id"], until=("succeeded", "failed", "cancelled", "lost"))
        assert row["status"] == "succeeded", f"{row}\n{restarted.tail()}"
        assert row["task_id"] == task_id  # the same task, followed again

        # The kept clip: a real 5 s, 960x960 MP4 that decodes, and its poster.
        assert row["output_path"] and Path(row["output_path"]).is_file(), row
        assert row["poster_path"] and Path(row["poster_path"]).is_file(), row
        if vault.bucket is not None:
            assert {vault.key(data, row["output_path"]), vault.key(data, row["poster_path"])} <= vault.objects()
        seconds, width, height, codec = decode(row["output_path"])
        assert (width, height, codec) == (960, 960, "h264")
        assert seconds == pytest.approx(5.0, abs=0.05)

        # The status log: in order, ending succeeded; neither it nor the row ever went backwards.
        rows, changes = read_db(db)
        logged = [c["status"] for c in changes[before["id"]]]
        assert logged[0] == "submitting" and logged[-1] == "succeeded", logged
        assert "running" in logged, logged
        assert_never_backwards(logged)
        assert_never_backwards([before["status"], *seen])
        times = [c["at"] for c in changes[before["id"]]]
        assert times == sorted(times), times

        # No second task: one generation, one task id, and that task is the one the simulator finished.
        assert len(rows) == 1 and len({r["task_id"] for r in rows}) == 1, rows
        task = httpx.get(f"{sim_url}/v1/tasks/{task_id}", headers={"Authorization": "Bearer any"}, timeout=5).json()
        assert task["status"] == "SUCCEEDED", task
        stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=5).json()
        assert stats["created"] == 1, f"the simulator created {stats} tasks: the restart sent the create call again"
        clips = list((logs / "sim-outputs").glob("*.mp4"))
        assert len(clips) == 1, clips  # and rendered one clip
        assert simulator.popen.poll() is None, simulator.tail()


def test_an_embedded_simulator_task_ends_lost_after_a_kill(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    db = data / "history.sqlite3"
    with processes() as procs:
        env = base_env(
            STUDIO_PROVIDER="simulator",
            STUDIO_DATA_DIR=str(data),
            STUDIO_SIM_PENDING_S="0.5",
            STUDIO_SIM_RUNNING_S="6",
            GRADIO_SERVER_PORT=str(free_port()),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_ANALYTICS_ENABLED="False",
        )
        studio, url = start_studio(procs, env, logs)
        client = submit_until_running(url, studio)
        before = kill_mid_task(studio, db)
        client.close()

        restarted, _ = start_studio(procs, env, logs)
        row, seen = follow_row(db, before["id"], until=("succeeded", "failed", "cancelled", "lost"))
        assert row["status"] == "lost", f"{row}\n{restarted.tail()}"
        assert row["task_id"] == before["task_id"]
        assert row["output_path"] is None
        reason = (row["failure_reason"] or "").lower()
        assert "no longer knows" in reason and "simulator" in reason, row["failure_reason"]
        _, changes = read_db(db)
        logged = [c["status"] for c in changes[before["id"]]]
        assert logged[-1] == "lost", logged
        assert_never_backwards(logged)
        assert_never_backwards([before["status"], *seen])


def test_a_visitor_following_a_task_the_provider_forgot_is_told_it_is_lost(launched: LaunchedStudio) -> None:
    """What a page sees when the provider forgets its task mid-run (a restarted simulator, a purged task): the row
    ends ``lost``, and the status panel says so rather than stalling on its last "running" (it did stall while
    studio/ui/status.py had no title for "lost": status_html raised KeyError and the stream died)."""
    client = Client(launched.url, verbose=False)
    try:
        job = submit_paper_boats(client)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(p == "running" for p, _ in phases(job.outputs())):
            time.sleep(0.05)
        panel = next(value(o, 0) for o in job.outputs() if "rs-task-id" in (value(o, 0) or ""))
        task_id = re.search(r'rs-task-id">([0-9a-f-]+)<', panel).group(1)
        assert launched.engine.tasks.pop(task_id, None) is not None  # the provider forgets the task
        with suppress(Exception):  # the stream may end in an error: it is judged by what it showed, below
            job.result(timeout=30)
        rows, _ = read_db(launched.studio.history.path)
        row = next(r for r in rows if r["task_id"] == task_id)
        assert row["status"] == "lost", row  # history knows
        seen = phases(job.outputs())
        assert seen and seen[-1][0] == "lost", f"the page was never told the task is lost: {seen}"
    finally:
        client.close()
