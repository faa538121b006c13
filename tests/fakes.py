"""Fakes shared by the tests: a clock whose sleep moves time instead of waiting."""

from __future__ import annotations

import asyncio


class FakeClock:
    """One clock for the simulator and the client: ``sleep`` moves time instead of waiting.

    ``real_pause`` lets worker threads (clip renders) make progress while the loop polls in fake time.
    """

    def __init__(self, start: float = 100.0, *, real_pause: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._real_pause = real_pause

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(self._real_pause)

    def advance(self, seconds: float) -> None:
        self.now += seconds
