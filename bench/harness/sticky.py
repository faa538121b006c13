"""A visitor behind a sticky load balancer: one shared httpx client, but each visitor keeps its own cookie (HAProxy's
``RSRV``, naming its replica), as a browser does, so that its upload, its join and its event stream all reach the
replica that holds its Gradio session. ``gradio_queue``'s functions take a ``Sticky`` wherever they take a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

COOKIE = "RSRV"


class Sticky:
    """``http`` as one visitor sees it: the load balancer's cookie kept from the first answer and sent after."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.replica: str | None = None

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.replica is not None:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Cookie": f"{COOKIE}={self.replica}"}
        return kwargs

    def _keep(self, response: Any) -> Any:
        value = response.cookies.get(COOKIE)
        if value and self.replica is None:
            self.replica = value
        return response

    async def post(self, url: str, **kwargs: Any) -> Any:
        return self._keep(await self.http.post(url, **self._headers(kwargs)))

    async def get(self, url: str, **kwargs: Any) -> Any:
        return self._keep(await self.http.get(url, **self._headers(kwargs)))

    @asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[Any]:
        async with self.http.stream(method, url, **self._headers(kwargs)) as response:
            yield self._keep(response)
