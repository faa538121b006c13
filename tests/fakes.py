"""Fakes shared by the tests: a clock whose sleep moves time instead of waiting."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn


class FakeClock:
    """One clock for the simulator and the client: ``sleep`` moves time instead of waiting, and records how long it
    was asked to wait; ``advance`` moves time without a sleep; ``elapsed`` is the time moved since ``start``.

    ``real_pause`` lets worker threads (clip renders) make progress while the loop polls in fake time; by default a
    sleep only yields to the event loop once.
    """

    def __init__(self, start: float = 100.0, *, real_pause: float = 0.0) -> None:
        self.start = self.now = start
        self.sleeps: list[float] = []
        self._real_pause = real_pause

    def __call__(self) -> float:
        return self.now

    @property
    def elapsed(self) -> float:
        return self.now - self.start

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(self._real_pause)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ServerThread:
    """uvicorn serving an app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
