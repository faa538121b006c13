"""Gradio's queue protocol (sse_v3) spoken from one asyncio httpx client, as gradio_client speaks it: upload a file,
join an event with ``POST /gradio_api/queue/join``, read the session's stream ``GET /gradio_api/queue/data`` and
apply its diffs. It keeps the load generator light on a 2-core machine (about 2-5 CPU-seconds for 100 visitors,
against about 25 with a gradio_client ``Client`` per visitor).

``run_event`` joins an event and reads its stream into a ``Generation``: the phases the studio's status panel showed
(``data-phase``), its task id (``.rs-task-id``), the clip, and when each first arrived.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from gradio_client import Client
from gradio_client.utils import apply_diff

from tests.appclient import args_for

FILE_DATA = "gradio.FileData"
PHASE = re.compile(r'data-phase="(\w+)"')
TASK_ID = re.compile(r'class="rs-task-id">([^<]+)<')


@dataclass(frozen=True)
class Endpoint:
    fn_index: int
    args: list[Any]  # as gradio_client takes them (files as handle_file)
    data: list[Any]  # as the queue takes them (state inputs as None); the file slots are filled per join
    file_slots: list[int]


def describe(url: str, api: str, **by_label: Any) -> Endpoint:
    """``api``'s request data, with the inputs named by their controls' labels (``tests.appclient.args_for``) and
    every other input at its default."""
    client = Client(url, verbose=False)
    try:
        args = args_for(client, api, **by_label)
        fn_index = client._infer_fn_index(api, None)
        endpoint = client.endpoints[fn_index]
        data = list(endpoint.insert_empty_state(*args) if client._skip_components else args)
        slots = [i for i, v in enumerate(data) if isinstance(v, dict) and v.get("meta", {}).get("_type") == FILE_DATA]
        return Endpoint(fn_index=fn_index, args=args, data=data, file_slots=slots)
    finally:
        client.close()


async def upload(http: Any, base: str, content: bytes, name: str, mime: str = "image/png") -> dict[str, Any]:
    """Upload one file to the app at ``base``; the FileData that stands for it in a file slot."""
    response = await http.post(f"{base}gradio_api/upload", files=[("files", (name, content, mime))])
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": name, "meta": {"_type": FILE_DATA}}


async def join(
    http: Any,
    base: str,
    endpoint: Endpoint,
    session: str,
    *,
    file: dict[str, Any] | None = None,
    slots: dict[int, Any] | None = None,
) -> str:
    """Join ``endpoint``'s event for ``session``, with ``file`` in its file slots and ``slots`` set; the event id."""
    data = copy.deepcopy(endpoint.data)
    for slot in endpoint.file_slots if file is not None else ():
        data[slot] = file
    for slot, value in (slots or {}).items():
        data[slot] = value
    body = {
        "data": data,
        "event_data": None,
        "fn_index": endpoint.fn_index,
        "trigger_id": None,
        "session_hash": session,
    }
    response = await http.post(f"{base}gradio_api/queue/join", json=body)
    response.raise_for_status()
    return str(response.json()["event_id"])


async def sse_messages(response: Any) -> AsyncIterator[dict[str, Any]]:
    """The JSON messages of a server-sent event stream."""
    buffer = b""
    async for chunk in response.aiter_bytes():
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            line = block.decode("utf-8").strip()
            if line.startswith("data:"):
                yield json.loads(line[5:])


async def event_messages(
    http: Any, base: str, session: str, event_id: str, *, until_closed: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """The messages of event ``event_id`` on ``session``'s stream, up to its ``process_completed``; with
    ``until_closed``, until Gradio closes the stream (every event of the session done: a cancel joined with the same
    session ends there too). An ``unexpected_error`` or ``server_stopped`` is passed on and ends it."""
    async with http.stream("GET", f"{base}gradio_api/queue/data", params={"session_hash": session}) as response:
        response.raise_for_status()
        async for msg in sse_messages(response):
            kind = msg.get("msg")
            if kind == "close_stream":
                return
            if kind in ("unexpected_error", "server_stopped"):
                yield msg
                return
            if msg.get("event_id") != event_id:  # heartbeats and the session's other events
                continue
            yield msg
            if kind == "process_completed" and not until_closed:
                return


def merge(outputs: list[Any] | None, update: list[Any]) -> list[Any]:
    """The outputs after a streamed update: the first carries whole values, the later ones diffs against the last."""
    return list(update) if outputs is None else [apply_diff(prev, diff) for prev, diff in zip(outputs, update)]


def add_phase(phases: list[str], status: Any) -> None:
    """Append the status panel's phase to ``phases`` unless it is the last one there."""
    match = PHASE.search(status) if isinstance(status, str) else None
    if match and (not phases or phases[-1] != match.group(1)):
        phases.append(match.group(1))


@dataclass
class Generation:
    """What one event streamed to its session, and when (``time.perf_counter``) each thing first arrived."""

    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    event_id: str | None = None
    outputs: list[Any] | None = None
    phases: list[str] = field(default_factory=list)  # as the status panel showed them, without repeats
    seen: dict[str, float] = field(default_factory=dict)  # "joined", "started" (the handler), each phase, "video"
    task_id: str | None = None
    video: Any = None  # the clip's FileData, once streamed
    updates: int = 0  # streamed updates (process_generating) received
    completed: bool = False  # the event's process_completed arrived
    error: str | None = None  # the app's error, or the message that ended the stream early

    @property
    def phase(self) -> str | None:
        return self.phases[-1] if self.phases else None

    def show(self, status: Any, now: float) -> None:
        """Note what the status panel (a str of HTML) says: its phase and the task id."""
        add_phase(self.phases, status)
        if self.phases:
            self.seen.setdefault(self.phases[-1], now)
        if self.task_id is None and isinstance(status, str) and (match := TASK_ID.search(status)) is not None:
            self.task_id = match.group(1)


async def run_event(
    http: Any,
    base: str,
    endpoint: Endpoint,
    generation: Generation,
    *,
    file: dict[str, Any] | None = None,
    slots: dict[int, Any] | None = None,
    until_closed: bool = False,
    on_update: Callable[[Generation], None] | None = None,
) -> None:
    """Join ``endpoint`` for ``generation.session`` (see ``join``) and read its stream (see ``event_messages``) into
    ``generation``; ``on_update`` is called after each streamed update."""
    gen = generation
    gen.event_id = await join(http, base, endpoint, gen.session, file=file, slots=slots)
    gen.seen["joined"] = time.perf_counter()
    async for msg in event_messages(http, base, gen.session, gen.event_id, until_closed=until_closed):
        kind, now = msg.get("msg"), time.perf_counter()
        if kind == "process_starts":
            gen.seen.setdefault("started", now)
        elif kind == "process_generating":
            gen.updates += 1
            gen.outputs = merge(gen.outputs, msg["output"]["data"])
            gen.show(gen.outputs[0], now)
            video = gen.outputs[1] if len(gen.outputs) > 1 else None
            if gen.video is None and isinstance(video, dict) and (video.get("path") or video.get("url")):
                gen.video = video  # a FileData; an update without a value is {"__type__": "update"}
                gen.seen["video"] = now
            if on_update is not None:
                on_update(gen)
        elif kind == "process_completed":
            gen.completed = True
            output = msg.get("output") or {}
            final = output.get("data")
            if not msg.get("success", True):
                gen.error = f"app error: {output.get('error')}"
            elif isinstance(final, list) and final and isinstance(final[0], str):
                gen.show(final[0], now)  # a full final value (not a diff), when Gradio sends one
        elif kind in ("unexpected_error", "server_stopped"):
            gen.error = f"{kind}: {msg.get('message', '')}"
