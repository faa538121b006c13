"""Several studio processes on one machine, behind HAProxy: ``python -m studio.serve --workers N``.

    visitors -> haproxy 127.0.0.1:7860 -- cookie RSRV: a page stays on the replica it first reached
                   |-> app.py r1 (127.0.0.1:<free port>) -+
                   |-> app.py r2                          +-> one data dir (history, clips), one secret
                   '-> app.py rN                          +-> one standalone simulator (on the simulator)

Every replica gets this shell's environment, so the settings that must be equal on every replica (``SHARED``) are.
On the simulator, one ``python -m studio.simulator`` serves them all (STUDIO_BASE_URL): a studio's embedded
simulator would know only its own replica's tasks. The visitors' signing secret and the file-link key are made in
the data dir before any replica starts, so every replica reads the same ones (or set STUDIO_SECRET). HAProxy checks
each replica every 2 s: one that exits is taken out, and its pages move to the others. Ctrl+C or SIGTERM stops all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import httpx

from studio.links import link_key
from studio.settings import Settings, SettingsError
from studio.wiring import browser_secret

LOOPBACK = "127.0.0.1"
APP = Path(__file__).resolve().parents[1] / "app.py"  # the studio as `python app.py` runs it
READY_S = 180.0  # `import gradio` alone takes 5-10 s on a busy 2-core machine; N replicas start at once
READY_PATH = "/gradio_api/app_id"  # a small answer through HAProxy from a replica (the page itself is 0.5 MB)
# Settings that must be equal on every replica (they name shared state, or what every replica must decide alike).
# Across machines STUDIO_DATABASE_URL and STUDIO_STORAGE_URL name the shared state (PostgreSQL, an S3 bucket).
SHARED = (
    "STUDIO_SECRET",
    "STUDIO_DATA_DIR",
    "STUDIO_DATABASE_URL",
    "STUDIO_STORAGE_URL",
    "STUDIO_STORAGE_ENDPOINT",
    "STUDIO_STORAGE_REGION",
    "STUDIO_LEASE_TTL_S",
    "STUDIO_PROVIDER",
    "STUDIO_API_KEY",
    "RUNWAYML_API_SECRET",
    "STUDIO_BASE_URL",
    "STUDIO_DAILY_CREDIT_CAP",
    "STUDIO_VISITOR_DAILY_CREDIT_CAP",
    "STUDIO_ALLOWED_MODELS",
    "STUDIO_REQUIRE_VISITOR_KEY",
    "STUDIO_TRUSTED_PROXIES",
    "STUDIO_NEW_VISITORS_PER_ADDRESS_DAILY",
    "STUDIO_RETENTION_DAYS",
    "STUDIO_MAX_DATA_GB",
    "OAUTH_CLIENT_ID",
)


@dataclass
class Child:
    """A process this command started: a replica, the simulator or HAProxy."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str = ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()

    def wait(self, timeout_s: float) -> None:
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def spawn(name: str, argv: list[str], env: Mapping[str, str], *, cwd: Path | None = None) -> Child:
    """Start ``argv``; its output goes to ours, each line prefixed with ``[name]``."""
    popen = subprocess.Popen(argv, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threading.Thread(target=_relay, args=(name, cast(IO[bytes], popen.stdout)), daemon=True).start()
    return Child(name, popen)


def _relay(name: str, stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()


def wait_ready(child: Child, url: str, *, ok: tuple[int, ...] = (200,), timeout_s: float = READY_S) -> None:
    """Until ``url`` answers one of ``ok``; SystemExit when the child exits or is late."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            raise SystemExit(f"{child.name} exited with code {child.popen.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2.0, trust_env=False).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{child.name} did not answer {url} within {timeout_s:.0f} s")


def haproxy_config(*, host: str, port: int, replicas: list[Child]) -> str:
    """Sticky by cookie (RSRV names the replica); long timeouts for Gradio's event streams (SSE); the client's
    address passed on in X-Forwarded-For; each replica's port checked every 2 s, out after 2 refusals."""
    servers = "\n".join(
        f"    server {r.name} {r.url.removeprefix('http://').rstrip('/')} cookie {r.name} check inter 2s fall 2 rise 2"
        for r in replicas
    )
    return f"""global
    maxconn 8000

defaults
    mode http
    option forwardfor
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 60s
    timeout http-keep-alive 30s
    timeout queue 60s

frontend studio
    bind {host}:{port}
    maxconn 8000
    default_backend replicas

backend replicas
    balance roundrobin
    cookie RSRV insert indirect nocache httponly
    # A connection check: a replica that has exited refuses it at once, and a busy one is never taken out for
    # answering late (an HTTP check timed out after 30 s while 1,000 visitors arrived at one replica, and HAProxy
    # then answered 503 to every one of them).
    option tcp-check
{servers}
"""


def replica_env(environ: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """The environment every replica shares: this one, with HAProxy (on loopback) believed for X-Forwarded-For."""
    env = dict(environ) | {"GRADIO_SERVER_NAME": LOOPBACK, "PYTHONUNBUFFERED": "1"}
    proxies = [*settings.trusted_proxies, LOOPBACK] if LOOPBACK not in settings.trusted_proxies else []
    if proxies:
        env["STUDIO_TRUSTED_PROXIES"] = ",".join(proxies)
    return env


def start_simulator(settings: Settings, env: Mapping[str, str], children: list[Child], *, admin: bool) -> Child:
    """One standalone simulator for every replica, with the settings' timings; its clips in the data dir. It joins
    ``children`` as soon as it is started (stopped with them if anything after fails)."""
    port = free_port()
    argv = [sys.executable, "-m", "studio.simulator", "--host", LOOPBACK, "--port", str(port)]
    argv += ["--pending", str(settings.sim_pending_s), "--running", str(settings.sim_running_s)]
    argv += ["--output-dir", str(settings.data_dir.resolve() / "simulator")]
    if settings.sim_max_concurrent:
        argv += ["--max-concurrent", str(settings.sim_max_concurrent)]
    sim = spawn("simulator", argv + ["--admin"] * admin, env, cwd=APP.parent)  # this checkout's simulator
    children.append(sim)
    sim.url = f"http://{LOOPBACK}:{port}"
    wait_ready(sim, f"{sim.url}/v1/tasks/ping", ok=(401,), timeout_s=60)
    return sim


def start_replicas(count: int, env: dict[str, str], children: list[Child]) -> list[Child]:
    """``count`` app.py processes on free loopback ports, started together, returned once each serves its page
    (each joins ``children`` as soon as it is started). Their ids are r1..rN, after STUDIO_REPLICA_ID when it is set
    (``hostA-r1``: two machines running serve against one database must not both have an r1)."""
    replicas = []
    prefix = f"{env['STUDIO_REPLICA_ID']}-" if env.get("STUDIO_REPLICA_ID") else ""
    for n in range(1, count + 1):
        port = free_port()
        name = f"r{n}"
        child = spawn(
            name,
            [sys.executable, str(APP)],
            env | {"GRADIO_SERVER_PORT": str(port), "STUDIO_REPLICA_ID": prefix + name},
        )
        child.url = f"http://{LOOPBACK}:{port}/"
        replicas.append(child)
        children.append(child)
    for child in replicas:
        wait_ready(child, child.url)
    return replicas


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        print("studio.serve needs HAProxy: apt-get install -y haproxy", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(environ)
    except SettingsError as err:
        print(f"Runway Studio cannot start: {err}", file=sys.stderr)
        return 2
    if not APP.is_file():
        print(f"studio.serve runs {APP}, which is not there: run it from a checkout of Runway Studio", file=sys.stderr)
        return 2
    browser_secret(settings)  # both made once, here, before any replica could race to make them
    link_key(settings.data_dir, secret=settings.secret.get_secret_value())
    env = replica_env(environ, settings)
    children: list[Child] = []
    folder = tempfile.mkdtemp(prefix="studio-serve-")  # HAProxy's config, removed at the end
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        if settings.uses_simulator and not settings.base_url:
            env["STUDIO_BASE_URL"] = start_simulator(settings, env, children, admin=args.simulator_admin).url
        replicas = start_replicas(args.workers, env, children)
        config = Path(folder) / "haproxy.cfg"
        config.write_text(haproxy_config(host=args.host, port=args.port, replicas=replicas), encoding="utf-8")
        proxy = spawn("haproxy", [haproxy, "-db", "-f", str(config)], environ)
        children.append(proxy)
        wait_ready(proxy, f"http://{args.host}:{args.port}{READY_PATH}", timeout_s=30)
        print(f"Runway Studio: {len(replicas)} replicas behind HAProxy at http://{args.host}:{args.port}/", flush=True)
        for child in children:
            print(f"  {child.name}: pid {child.popen.pid} {child.url}", flush=True)
        return watch(children, replicas, stopping)
    finally:
        for child in reversed(children):
            child.stop()
        for child in children:
            child.wait(15)
        shutil.rmtree(folder, ignore_errors=True)


def watch(children: list[Child], replicas: list[Child], stopping: threading.Event) -> int:
    """Until Ctrl+C or SIGTERM (0), HAProxy or the simulator exits, or every replica has (1). A replica that exits is
    reported; HAProxy's check has taken it out, and the others serve its visitors."""
    reported: set[str] = set()
    while not stopping.wait(0.5):
        for child in children:
            if child.popen.poll() is None or child.name in reported:
                continue
            reported.add(child.name)
            print(f"{child.name} (pid {child.popen.pid}) exited with code {child.popen.returncode}", flush=True)
            if child not in replicas:
                return 1
        if all(r.popen.poll() is not None for r in replicas):
            return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m studio.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="studio processes (default 2)")
    parser.add_argument("--host", default=LOOPBACK, help="where HAProxy listens (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="HAProxy's port (default 7860)")
    parser.add_argument(
        "--simulator-admin", action="store_true", help="the simulator serves /_simulator/stats (tests, benches)"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    sys.exit(run(args, os.environ))


if __name__ == "__main__":
    main()
