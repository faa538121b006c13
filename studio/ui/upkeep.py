"""Upkeep for a studio that serves strangers for weeks: Gradio's per-page session state kept bounded, and freed
memory handed back to the system.

Gradio keeps a ``SessionState`` for every page ever opened: its own copy of the page's config (~195 blocks here,
about 0.3 MB fresh and more once controls have been updated) and the page's ``gr.State`` values (the visitor's key,
their latest clip). It drops whole sessions only when more than ``state_session_capacity`` exist (10,000 by
default: gigabytes). Gradio itself deletes a closed page's ``gr.State`` values an hour after it closed; the upkeep
here drops the rest of such a session at that point too, and the launch caps how many sessions are kept
(least recently used first), so memory follows the visitors of the last hour, not every visitor there ever was.
Nothing made is lost: generations live in history, keyed by the visitor token kept in the browser.

How a session is dropped reaches into Gradio's internals: ``studio.ui.gradio_compat.drop_departed_sessions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from studio.memory import release_free_memory
from studio.ui.gradio_compat import drop_departed_sessions

log = logging.getLogger(__name__)

CLOSED_SESSION_TTL_S = 3600.0  # as Gradio's STATE_TTL_WHEN_CLOSED: a closed page's session lasts this long unused
SESSIONS_EVERY_S = 60.0
TRIM_EVERY_S = 10.0  # malloc_trim takes milliseconds, off the event loop


@contextlib.asynccontextmanager
async def upkeep(
    app: Any,
    *,
    trim_every_s: float = TRIM_EVERY_S,
    sessions_every_s: float = SESSIONS_EVERY_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], datetime.datetime] = datetime.datetime.now,
) -> AsyncIterator[None]:
    """For as long as the server runs (Gradio's app lifespan): hand freed memory back every few seconds (a busy
    minute leaves a lot of it), and drop departed pages' sessions every minute."""

    async def loop() -> None:
        since_sessions = 0.0
        while True:
            await sleep(trim_every_s)
            since_sessions += trim_every_s
            try:
                if since_sessions >= sessions_every_s:
                    since_sessions = 0.0
                    dropped = drop_departed_sessions(app.state_holder, now=now(), ttl_s=CLOSED_SESSION_TTL_S)
                    if dropped:
                        log.info("dropped the session state of %d closed pages", dropped)
                await asyncio.to_thread(release_free_memory)
            except Exception:
                log.exception("upkeep failed")

    task = asyncio.get_running_loop().create_task(loop())
    try:
        yield
    finally:
        task.cancel()
