"""The studio and the standalone simulator as subprocesses on free loopback ports, each with its own folders.

A server gets ``server_env()``: this shell's environment without any key or provider setting (a bench never reaches a
real API), loopback never through a proxy, unbuffered output and no analytics. ``start`` runs a command from the
repository root with its output in ``<folder>/<name>.log``; ``Proc.stop`` stops it by its own handle, politely first.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness import ROOT

LOOPBACK = "127.0.0.1"
SERVER_KEYS = ("STUDIO_API_KEY", "RUNWAYML_API_SECRET", "STUDIO_BASE_URL", "STUDIO_PROVIDER")  # never reach a real API


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def server_env(**settings: str) -> dict[str, str]:
    """The environment for a server: no key or provider of this shell, no proxy for loopback, then ``settings``."""
    return (
        {k: v for k, v in os.environ.items() if k not in SERVER_KEYS}
        | {"NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        | settings
    )


def studio_env(folder: Path, port: int, **settings: str) -> dict[str, str]:
    """The environment for ``python app.py`` on ``port``: the embedded simulator, the data folder ``folder/data``
    and Gradio's temp folder ``folder/gradio``; ``settings`` add to it or override it."""
    studio = {
        "STUDIO_PROVIDER": "simulator",
        "STUDIO_DATA_DIR": str(folder / "data"),
        "GRADIO_SERVER_NAME": LOOPBACK,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
    }
    return server_env(**(studio | settings))


def log_problems(text: str) -> list[str]:
    """Distinct warning/error lines of a server's log, with how often each occurred, most frequent first."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if re.search(r"Traceback|Error|Exception|WARNING|ERROR|Warning", line):
            key = re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b|\b\d+(\.\d+)?\b", "#", line.strip())[:200]
            counts[key] = counts.get(key, 0) + 1
    return [f"{n} x {line}" for line, n in sorted(counts.items(), key=lambda kv: -kv[1])]


@dataclass
class Proc:
    """A server this bench started: its process, its command and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    command: list[str]
    log: Path
    url: str = ""  # where it answers, once it does (the studio's with a trailing slash, the simulator's without)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        """Stop the process (terminate, then kill after 15 s); nothing if it has ended."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=15)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def problems(self) -> list[str]:
        return log_problems(self.log.read_text(errors="replace"))


def start(name: str, command: list[str], env: dict[str, str], folder: Path) -> Proc:
    """Run ``command`` from the repository root, its output in ``folder/<name>.log``."""
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    return Proc(name, popen, command, log)


def wait_ready(url: str, proc: Proc, *, timeout_s: float, status: int = 200) -> None:
    """Until ``GET url`` answers ``status``; RuntimeError with the end of the log if the server exits or is late."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            problem = f"the {proc.name} exited with code {proc.popen.returncode} before it was ready"
            break
        try:
            if httpx.get(url, timeout=2.0, trust_env=False).status_code == status:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        problem = f"the {proc.name} did not answer {status} on {url} within {timeout_s:.0f} s"
    raise RuntimeError(f"{problem}\n--- the {proc.name}'s log, last lines ---\n{proc.tail()}")


def start_studio(folder: Path, *, command: list[str] | None = None, timeout_s: float = 180.0, **settings: str) -> Proc:
    """``python app.py`` (or ``command``) with ``studio_env(folder, port, **settings)`` on a free port, returned once
    its page answers 200. A studio that does not come up is stopped, and RuntimeError says why."""
    port = free_port()
    proc = start("studio", command or [sys.executable, "app.py"], studio_env(folder, port, **settings), folder)
    proc.url = f"http://{LOOPBACK}:{port}/"
    return _when_ready(proc, proc.url, timeout_s=timeout_s, status=200)


def start_simulator(
    folder: Path, *, pending: float, running: float, admin: bool = False, timeout_s: float = 60.0
) -> Proc:
    """The standalone simulator (``python -m studio.simulator``) on a free port, its clips in ``folder/simulator``,
    returned once it answers (401 to a read without a key). ``admin`` serves ``/_simulator/stats``."""
    port = free_port()
    command = [sys.executable, "-m", "studio.simulator", "--host", LOOPBACK, "--port", str(port)]
    command += ["--admin"] * admin + ["--pending", f"{pending:g}", "--running", f"{running:g}"]
    command += ["--output-dir", str(folder / "simulator")]
    proc = start("simulator", command, server_env(), folder)
    proc.url = f"http://{LOOPBACK}:{port}"
    return _when_ready(proc, f"{proc.url}/v1/tasks/ping", timeout_s=timeout_s, status=401)


def _when_ready(proc: Proc, url: str, *, timeout_s: float, status: int) -> Proc:
    try:
        wait_ready(url, proc, timeout_s=timeout_s, status=status)
    except BaseException:
        proc.stop()
        raise
    return proc


def print_problems(procs: Iterable[Proc], *, examples: int = 3) -> None:
    """Say how many distinct warning/error lines the servers' logs show, with a few of them."""
    problems = [f"{proc.name}: {line}" for proc in procs for line in proc.problems()]
    if problems:
        print(f"server logs: {len(problems)} distinct warning/error lines, e.g.:")
        for line in problems[:examples]:
            print(f"  {line[:200]}")


def clean_up(folder: Path, *, keep: bool) -> None:
    """Remove a bench's temporary folder (the servers' logs and data), or say where it is kept."""
    if keep:
        print(f"logs and data kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


def start_serve(
    folder: Path, *, workers: int, timeout_s: float = 300.0, **settings: str
) -> tuple[Proc, dict[str, int]]:
    """``python -m studio.serve --workers N`` (HAProxy in front of N studios and one standalone simulator, its admin
    routes on) with ``studio_env``'s settings; returned once HAProxy answers, with each child's pid by name (``r1``..,
    ``simulator``, ``haproxy``) and the simulator's URL in ``Proc.url``'s place for it: see ``serve_children``."""
    port = free_port()
    command = [sys.executable, "-m", "studio.serve", "--workers", str(workers), "--port", str(port)]
    proc = start("serve", command + ["--simulator-admin"], studio_env(folder, port, **settings), folder)
    proc.url = f"http://{LOOPBACK}:{port}/"
    deadline = time.monotonic() + timeout_s
    while "behind HAProxy at" not in proc.log.read_text(errors="replace"):
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"studio.serve did not come up\n--- its log, last lines ---\n{proc.tail()}")
        time.sleep(0.3)
    return proc, {name: int(pid) for name, (pid, _) in serve_children(proc).items()}


def serve_children(proc: Proc) -> dict[str, tuple[int, str]]:
    """(pid, URL) of each process ``studio.serve`` started, by name, as it printed them."""
    found = re.findall(r"^  (\w+): pid (\d+) ?(\S*)$", proc.log.read_text(errors="replace"), re.MULTILINE)
    return {name: (int(pid), url) for name, pid, url in found}
