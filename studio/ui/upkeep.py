"""Upkeep for a studio that serves strangers for weeks: Gradio's per-page session state kept bounded, and freed
memory handed back to the system.

Gradio keeps a ``SessionState`` for every page ever opened: its own copy of the page's config (~195 blocks here,
about 0.3 MB fresh and more once controls have been updated) and the page's ``gr.State`` values (the visitor's key,
their latest clip). It drops whole sessions only when more than ``state_session_capacity`` exist (10,000 by
default: gigabytes). Gradio itself deletes a closed page's ``gr.State`` values an hour after it closed; the upkeep
here drops the rest of such a session at that point too, and the launch caps how many sessions are kept
(least recently used first), so memory follows the visitors of the last hour, not every visitor there ever was.
Nothing made is lost: generations live in history, keyed by the visitor token kept in the browser.

Also here: ``keep_session_ids``, a work-around for a Gradio 6.31 bug that made a page's session grow with every
generation (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from studio.memory import release_free_memory

log = logging.getLogger(__name__)

CLOSED_SESSION_TTL_S = 3600.0  # as Gradio's STATE_TTL_WHEN_CLOSED: a closed page's session lasts this long unused
SESSIONS_EVERY_S = 60.0
TRIM_EVERY_S = 10.0  # malloc_trim takes milliseconds, off the event loop


def keep_session_ids() -> None:
    """Make Gradio's per-session copy of an updated component keep the id of the component it stands in for.

    On every ``gr.update`` (and for every output a handler leaves out, which Gradio treats as an empty update)
    Gradio 6.31 stores a fresh copy of the component in the session: ``state[id] = Block(**kwargs)``. The copy
    gets a new id of its own, and the next plain value for that output is stored under the copy's id
    (``Blocks.postprocess_data``: ``block = state[block._id]``, then ``state[block._id] = block``), so the session
    gained a component and its config (with its JSON schema) each time: two to six per generation here, for as
    long as the page stays open. Giving the copy its original id keeps the session at one entry per component.
    Idempotent; tests/e2e/test_sessions_browser.py measures the session across rounds of generating.
    """
    from gradio.blocks import Block
    from gradio.state_holder import SessionState

    if getattr(SessionState.__setitem__, "keeps_ids", False):
        return
    original = SessionState.__setitem__

    def __setitem__(self: SessionState, key: int, value: Any) -> None:
        page_block = self.blocks_config.blocks.get(key)
        if page_block is not None and not page_block.stateful and isinstance(value, Block) and value._id != key:
            value._id = key  # the copy stands in for the page's component `key`
        original(self, key, value)

    __setitem__.keeps_ids = True  # type: ignore[attr-defined]
    SessionState.__setitem__ = __setitem__  # type: ignore[method-assign]


def drop_departed_sessions(state_holder: Any, *, now: datetime.datetime, ttl_s: float = CLOSED_SESSION_TTL_S) -> int:
    """Drop the sessions of pages that closed (their heartbeat ended) and were not used for ``ttl_s``.

    A page that is still open is never dropped here, however idle. Returns how many sessions were dropped.
    """
    sessions: dict[str, Any] = state_holder.session_data
    last_used: dict[str, datetime.datetime] = state_holder.time_last_used
    departed = [
        session_id
        for session_id, session in list(sessions.items())
        if getattr(session, "is_closed", False) and (now - last_used.get(session_id, now)).total_seconds() >= ttl_s
    ]
    for session_id in departed:
        state_holder.delete_state(session_id)  # Gradio's own path: runs each gr.State's delete_callback
        with state_holder.lock:
            sessions.pop(session_id, None)
            last_used.pop(session_id, None)
    return len(departed)


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
                    dropped = drop_departed_sessions(app.state_holder, now=now())
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
