"""Faults the simulator can inject, for demonstrating failures and for tests. All off by default.

HTTP faults are answered by the simulator's routes (status codes, malformed JSON, slow answers, long THROTTLED,
fresh ids answering 404, tasks failing with a chosen code, output links refused). Connection faults (a reset
before or after the request reached the server, a read timeout) cannot be expressed by an ASGI app, so they are
made by ``FaultyTransport``, which wraps the transport the studio uses for the embedded simulator.

Set them in-process (``app.state.faults``) or, when the simulator runs with ``--admin``, over HTTP:
``POST /_simulator/faults`` with a JSON object of the fields below (``DELETE`` clears them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import httpx

CONNECTION_FAULTS = ("reset_before", "reset_after", "timeout_after")


@dataclass
class Faults:
    create_status: list[int] = field(default_factory=list)  # the next create calls answer these statuses, in turn
    read_status: list[int] = field(default_factory=list)  # the next GET /v1/tasks/{id} answer these
    read_outage_s: float = 0.0  # every GET /v1/tasks/{id} answers read_outage_status this long (simulated time)
    read_outage_status: int = 500  # from the first read after read_outage_s is set
    outage_from: float | None = None  # when the outage began (the simulator's clock; set by the first read)
    retry_after_s: float | None = None  # the Retry-After header on an injected 429/503
    malformed: int = 0  # the next this-many API answers have a body that is not JSON
    slow_s: float = 0.0  # every API answer waits this long first (real time)
    throttled_s: float = 0.0  # every new task stays THROTTLED this long first
    fresh_404_s: float = 0.0  # a new task id answers 404 for this long
    fail_code: str | None = None  # every new task fails with this failure code (e.g. "INTERNAL", "SAFETY.INPUT.IMAGE")
    output_status: int | None = None  # output links answer this (e.g. 403) instead of the clip
    connection: list[str] = field(
        default_factory=list
    )  # next create calls: "reset_before" | "reset_after" | "timeout_after"

    def take_create_status(self) -> int | None:
        return self.create_status.pop(0) if self.create_status else None

    def take_read_status(self) -> int | None:
        return self.read_status.pop(0) if self.read_status else None

    def read_outage(self, now: float) -> int | None:
        """The status a task read answers now, if an outage is on (the first read starts it)."""
        if self.read_outage_s <= 0:
            return None
        if self.outage_from is None:
            self.outage_from = now
        return self.read_outage_status if now < self.outage_from + self.read_outage_s else None

    def take_malformed(self) -> bool:
        if self.malformed <= 0:
            return False
        self.malformed -= 1
        return True

    def take_connection(self) -> str | None:
        return self.connection.pop(0) if self.connection else None

    def update(self, changes: dict[str, Any]) -> None:
        """Set fields from a JSON object; unknown names raise ValueError naming the known ones."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"Unknown fault(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        bad = [c for c in changes.get("connection", []) if c not in CONNECTION_FAULTS]
        if bad:
            raise ValueError(f"connection faults are {', '.join(CONNECTION_FAULTS)}; got {', '.join(map(str, bad))}.")
        for name, value in changes.items():
            setattr(self, name, value)

    def clear(self) -> None:
        self.__dict__.update(Faults().__dict__)


FAILURE_MESSAGES = {
    "INTERNAL": "An unexpected error occurred.",
    "ASSET.INVALID": "Invalid asset: the input could not be processed.",
    "THIRD_PARTY.UNAVAILABLE": "A third-party service is unavailable.",
    "SAFETY.INPUT.IMAGE": "Image did not pass moderation.",
    "SAFETY.INPUT.TEXT": "Text did not pass moderation.",
    "SAFETY.OUTPUT.VIDEO": "The generated video did not pass moderation.",
    "INPUT_PREPROCESSING.SAFETY.TEXT": "Text prompt did not pass moderation",
}


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and breaks create calls' connections as ``faults.connection`` says.

    "reset_before": the connection fails before anything is sent (nothing reaches the server).
    "reset_after": the request reaches the server (the task is created), then the connection drops.
    "timeout_after": the request reaches the server, then the answer never comes (a read timeout).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, faults: Faults) -> None:
        self._inner, self._faults = inner, faults

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.take_connection() if request.method == "POST" else None
        if fault == "reset_before":
            raise httpx.ConnectError("Connection reset by peer (injected, before sending)", request=request)
        response = await self._inner.handle_async_request(request)
        if fault == "reset_after":
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response (injected)", request=request
            )
        if fault == "timeout_after":
            await response.aclose()
            raise httpx.ReadTimeout("The read operation timed out (injected)", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
