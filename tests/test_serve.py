"""Two studio replicas behind HAProxy (``python -m studio.serve --workers 2``), as a host runs them.

Each test starts ``studio.serve`` in a process group of its own, on a temporary data dir, and ends the whole group
afterwards (and a watchdog ends it if a test overruns, so nothing can hang). Visitors are gradio_client clients:
they keep HAProxy's RSRV cookie, as a browser does, so a page's requests stay on one replica.

- a visitor generates; the replica following the task is killed with SIGKILL; the other one finishes the task into
  History; the visitor, reloading, sees it; a second visitor sees none of it; the simulator made exactly one task;
- visitors spread over both replicas cannot overshoot the visitor cap or the studio-wide cap;
- a page's requests all land on one replica, and a restart of the whole thing keeps a visitor's history.

Without HAProxy they skip, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file

from studio.history import LEASE_TTL_S
from tests.appclient import I2V, args_for, latest, phases
from tests.conftest import ASSETS, ROOT, free_port
from tests.test_restart import base_env, processes, read_db, start_simulator

pytestmark = pytest.mark.app

STARTUP_S = 240.0  # two replicas and a simulator importing gradio at once, on a busy 2-core machine
WATCHDOG_S = 600.0  # a test still running after this has its whole process group killed
SIM_TIMES = {"STUDIO_SIM_PENDING_S": "0.5", "STUDIO_SIM_RUNNING_S": "8"}
COST = 25  # gen4_turbo, 5 s, on openai-hk


def need_haproxy() -> None:
    if shutil.which("haproxy"):
        return
    reason = "HAProxy is not installed (apt-get install -y haproxy)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the replica tests", pytrace=False)
    pytest.skip(reason)


# --- studio.serve in its own process group --------------------------------------------------------------------


@dataclass
class Served:
    popen: subprocess.Popen[bytes]
    log: Path
    url: str
    pids: dict[str, int] = field(default_factory=dict)  # r1, r2, simulator, haproxy
    urls: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return self.text()[-chars:]


def _end_group(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM to studio.serve (it stops its children), then SIGKILL to whatever of its group is left."""
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=10)


@contextmanager
def served(data: Path, logs: Path, **settings: str) -> Iterator[Served]:
    """``python -m studio.serve --workers 2`` on ``data`` with ``settings``, once HAProxy answers."""
    need_haproxy()
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = logs / f"serve-{port}.log"
    env = base_env(STUDIO_DATA_DIR=str(data), GRADIO_TEMP_DIR=str(logs / "gradio"), **settings)
    argv = [sys.executable, "-m", "studio.serve", "--workers", "2", "--port", str(port), "--simulator-admin"]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    watchdog = threading.Timer(WATCHDOG_S, _end_group, args=(popen,))
    watchdog.start()
    try:
        yield _ready(Served(popen, log, f"http://127.0.0.1:{port}/"))
    finally:
        watchdog.cancel()
        _end_group(popen)


def _ready(served: Served) -> Served:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if served.popen.poll() is not None:
            pytest.fail(f"studio.serve exited with {served.popen.returncode}:\n{served.tail()}")
        text = served.text()
        if "behind HAProxy at" in text:
            for name, pid, url in re.findall(r"^  (\w+): pid (\d+) ?(\S*)$", text, re.MULTILINE):
                served.pids[name], served.urls[name] = int(pid), url
            return served
        time.sleep(0.3)
    pytest.fail(f"studio.serve was not ready within {STARTUP_S:.0f} s:\n{served.tail()}")


# --- visitors ---------------------------------------------------------------------------------------------------


def visitor(served: Served, *, replica: str | None = None, address: str | None = None) -> Client:
    """A page: a gradio_client client that keeps HAProxy's cookie (``replica`` pins it), from ``address``."""
    cookies = {"RSRV": replica} if replica else {}
    headers = {"X-Forwarded-For": address} if address else None
    return Client(served.url, verbose=False, headers=headers, httpx_kwargs={"cookies": cookies, "timeout": 60.0})


def arrive(client: Client, token: str = "") -> str:
    """The page opens: the visitor's signed token (a new visitor's when ``token`` is empty)."""
    return str(client.predict(token, "", api_name="/arrive"))


def history_text(client: Client, token: str) -> str:
    unfiltered = ("", "all", "all", "all", False)  # search, tab, model, status, starred only
    return json.dumps(client.predict(token, *unfiltered, api_name="/history"), ensure_ascii=False)


def generation_args(client: Client, token: str, *, prompt: str = "", **by_label: Any) -> list[Any]:
    """Image to Video from the paper boats at 960:960, as the visitor ``token`` names: the endpoint's arguments."""
    fields = {"first_frame": handle_file(str(ASSETS / "paper_boats.png")), "ratio": "960:960", "prompt": prompt}
    args = args_for(client, I2V, **(fields | by_label))
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][I2V]["parameters"]
    args[[p["component"] for p in params].index("Browserstate")] = token
    return args


def generate_as(client: Client, token: str, *, prompt: str = "", **by_label: Any) -> Any:
    return client.submit(*generation_args(client, token, prompt=prompt, **by_label), api_name=I2V)


def at_once(pages: list[Client], tokens: list[str]) -> list[str]:
    """Each page presses Generate (on openai-hk, the server's key) at the same moment; how each one ended."""
    ready = [generation_args(page, token, provider="openai-hk") for page, token in zip(pages, tokens)]
    jobs = [page.submit(*args, api_name=I2V) for page, args in zip(pages, ready)]
    return [ended(job) for job in jobs]


def ended(job: Any) -> str:
    """The status panel a generation ended on (a refusal by a cap ends the stream too)."""
    with suppress(Exception):
        job.result(timeout=120)
    return str(latest(job.outputs(), 0))


def created(sim_url: str) -> int:
    """Tasks the standalone simulator has created."""
    return int(httpx.get(f"{sim_url}/_simulator/stats", timeout=10, trust_env=False).json()["created"])


def app_id(url: str, cookies: dict[str, str] | None = None) -> int:
    """Which process answers (Gradio's app id is random per process)."""
    response = httpx.get(f"{url}gradio_api/app_id", cookies=cookies, timeout=10, trust_env=False)
    return int(response.json()["app_id"])


# --- the tests --------------------------------------------------------------------------------------------------


def test_the_other_replica_finishes_a_killed_replicas_generation_into_history(tmp_path: Path) -> None:
    prompt = "Paper boats on replica duty"
    db = tmp_path / "data" / "history.sqlite3"
    with served(tmp_path / "data", tmp_path / "logs", **SIM_TIMES) as studio:
        page = visitor(studio)
        token = arrive(page)
        following = page.cookies["RSRV"]  # the replica this page (and so its generation) is on
        job = generate_as(page, token, prompt=prompt)
        deadline = time.monotonic() + 60
        while not any(p == "running" for p, _ in phases(job.outputs())):
            assert time.monotonic() < deadline, f"never running: {phases(job.outputs())}\n{studio.tail()}"
            time.sleep(0.1)
        os.kill(studio.pids[following], signal.SIGKILL)
        page.close()

        # The other replica takes the generation over once the dead one's lease has expired.
        deadline = time.monotonic() + LEASE_TTL_S + 90
        while True:
            with suppress(Exception):  # a writer may hold the lock for a moment
                rows, _ = read_db(db)
                if rows and rows[0]["status"] in ("succeeded", "failed", "lost", "cancelled"):
                    break
            assert time.monotonic() < deadline, f"not finished: {rows}\n{studio.tail()}"
            time.sleep(0.5)
        assert len(rows) == 1 and rows[0]["status"] == "succeeded", rows
        assert rows[0]["output_path"] and Path(rows[0]["output_path"]).is_file()
        assert created(studio.urls["simulator"]) == 1  # followed again, never created again

        reloaded = visitor(studio)  # the visitor reloads: their page lands on the surviving replica
        assert reloaded.cookies["RSRV"] != following
        assert arrive(reloaded, token) == token
        assert prompt in history_text(reloaded, token)
        stranger = visitor(studio)
        assert prompt not in history_text(stranger, arrive(stranger))


def test_visitors_spread_over_both_replicas_cannot_overshoot_the_caps(tmp_path: Path) -> None:
    with processes() as procs:
        _, sim_url = start_simulator(procs, tmp_path, running_s=2)
        caps = {"STUDIO_VISITOR_DAILY_CREDIT_CAP": str(2 * COST), "STUDIO_DAILY_CREDIT_CAP": str(6 * COST)}
        key = {"STUDIO_PROVIDER": "openai-hk", "STUDIO_API_KEY": "hk-server-key-for-the-simulator"}
        with served(tmp_path / "data", tmp_path / "logs", STUDIO_BASE_URL=sim_url + "/runwayml", **key, **caps) as s:
            # One visitor, four pages: two on each replica, all pressing Generate at once. Visitor cap: 2 tasks.
            first = visitor(s, replica="r1", address="203.0.113.1")
            token = arrive(first)
            pages = [first] + [visitor(s, replica=r, address="203.0.113.1") for r in ("r1", "r2", "r2")]
            outcomes = at_once(pages, [token] * len(pages))
            assert created(sim_url) == 2, outcomes

            # Eight more visitors from eight addresses, spread over both replicas. Studio-wide cap: 6 tasks in all.
            others = [visitor(s, replica=f"r{1 + n % 2}", address=f"203.0.113.{10 + n}") for n in range(8)]
            outcomes = at_once(others, [arrive(page) for page in others])
            assert created(sim_url) == 6, outcomes
            succeeded = sum('data-phase="succeeded"' in str(o) for o in outcomes)
            assert succeeded == 4, outcomes


def test_a_page_stays_on_one_replica_and_a_restart_keeps_its_history(tmp_path: Path) -> None:
    prompt = "Paper boats after a restart"
    data, logs = tmp_path / "data", tmp_path / "logs"
    with served(data, logs, **SIM_TIMES) as studio:
        assert len({app_id(studio.url) for _ in range(4)}) == 2  # without a cookie: both replicas answer
        page = visitor(studio)
        token = arrive(page)
        job = generate_as(page, token, prompt=prompt)  # upload, join and stream: one session, one replica
        job.result(timeout=120)
        assert phases(job.outputs())[-1][0] == "succeeded", phases(job.outputs())
        replica = page.cookies["RSRV"]
        pinned = {app_id(studio.url, page.cookies) for _ in range(6)}
        assert pinned == {app_id(studio.urls[replica])}
    with served(data, logs, **SIM_TIMES) as restarted:  # the same data dir: the same secret, made once
        again = visitor(restarted)
        assert arrive(again, token) == token
        assert prompt in history_text(again, token)
        stranger = visitor(restarted)
        assert prompt not in history_text(stranger, arrive(stranger))


# --- without HAProxy processes --------------------------------------------------------------------------------


def test_the_haproxy_config_is_sticky_and_streams(tmp_path: Path) -> None:
    from studio.serve import Child, haproxy_config

    replicas = [Child("r1", None, "http://127.0.0.1:4001/"), Child("r2", None, "http://127.0.0.1:4002/")]  # type: ignore[arg-type]
    config = haproxy_config(host="127.0.0.1", port=7860, replicas=replicas)
    assert "cookie RSRV insert indirect nocache" in config
    assert "server r1 127.0.0.1:4001 cookie r1 check" in config and "server r2 127.0.0.1:4002 cookie r2" in config
    for line in ("timeout server 1h", "timeout tunnel 1h", "option forwardfor", "option tcp-check"):
        assert line in config


def test_without_haproxy_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import argparse

    import studio.serve as serve

    monkeypatch.setattr(serve.shutil, "which", lambda _: None)
    args = argparse.Namespace(workers=2, host="127.0.0.1", port=7860, simulator_admin=False)
    assert serve.run(args, {}) == 2
    assert capsys.readouterr().err.strip() == "studio.serve needs HAProxy: apt-get install -y haproxy"


def test_the_settings_every_replica_shares_are_real_settings() -> None:
    from studio.serve import SHARED
    from studio.settings import documented

    assert set(SHARED) <= {name for name, _, _ in documented()}


def test_replicas_that_share_no_disk_derive_one_link_key_from_the_secret(tmp_path: Path) -> None:
    from studio.links import link_key

    a, b = link_key(tmp_path / "a", secret="s3cret"), link_key(tmp_path / "b", secret="s3cret")
    assert a == b and len(a) == 32 and not (tmp_path / "a" / "link.key").exists()
    assert link_key(tmp_path / "a", secret="another") != a
    kept = link_key(tmp_path / "c")  # no secret: made once in the data dir, as before
    assert (tmp_path / "c" / "link.key").read_bytes() == kept == link_key(tmp_path / "c")


def test_replicas_believe_haproxy_on_loopback_as_well_as_the_hosts_proxies(tmp_path: Path) -> None:
    from studio.serve import replica_env
    from studio.settings import Settings

    env = {"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_TRUSTED_PROXIES": "10.0.0.0/8"}
    shared = replica_env(env, Settings.from_env(env))
    assert shared["STUDIO_TRUSTED_PROXIES"] == "10.0.0.0/8,127.0.0.1"
    assert shared["STUDIO_DATA_DIR"] == str(tmp_path) and shared["GRADIO_SERVER_NAME"] == "127.0.0.1"
    alone = {"STUDIO_DATA_DIR": str(tmp_path)}
    assert replica_env(alone, Settings.from_env(alone))["STUDIO_TRUSTED_PROXIES"] == "127.0.0.1"
