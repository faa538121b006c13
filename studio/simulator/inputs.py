"""Turn a request's URIs into bytes the renderer can use: data URIs are decoded, https URLs fetched.

URL inputs are fetched the way the real provider would, but only from public addresses (unless the config
allows private ones for tests), so a simulator on a shared host cannot be used to reach its private network.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from studio.capabilities import InputLimits
from studio.uris import RUNWAY_URI


class InputUnavailable(Exception):
    """An input could not be read or fetched; the message is shown as the task's failure."""


def decode_data_uri(uri: str) -> bytes:
    _, _, payload = uri.partition(";base64,")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        raise InputUnavailable("An input data URI is not valid base64.") from None


async def load_uri(
    uri: str,
    *,
    kind: str,
    limits: InputLimits,
    allow_private: bool,
    uploaded: Callable[[str], Path | None] | None = None,
) -> bytes:
    """The bytes behind a data URI, an upload's runway:// URI (``uploaded`` finds its file) or an https URL
    (size-capped as the API caps URL fetches)."""
    if uri.startswith("data:"):
        return decode_data_uri(uri)
    if uri.startswith(RUNWAY_URI):
        path = uploaded(uri) if uploaded is not None else None
        if path is None:
            raise InputUnavailable("An uploaded input is unknown or has expired (uploads last 24 hours).")
        return await asyncio.to_thread(path.read_bytes)
    cap = limits.image_url_fetch_bytes if kind == "image" else limits.video_url_fetch_bytes
    host = urlsplit(uri).hostname or ""
    if not allow_private:
        await _require_public(host)
    return await _fetch(uri, cap=cap)


async def _require_public(host: str) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError:
        raise InputUnavailable(f"The input's host {host} could not be resolved.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InputUnavailable(f"The input's host {host} is not a public address; it was not fetched.")


async def _fetch(uri: str, *, cap: int) -> bytes:
    try:
        async with (
            httpx.AsyncClient(timeout=10.0, follow_redirects=False, verify=True) as http,
            http.stream("GET", uri, headers={"User-Agent": "RunwayML API/simulator"}) as response,
        ):
            if response.status_code != 200:
                raise InputUnavailable(f"Fetching an input answered {response.status_code}.")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > cap:
                    raise InputUnavailable(f"An input at a URL is larger than {cap} bytes.")
            return bytes(data)
    except httpx.HTTPError as err:
        raise InputUnavailable(f"An input could not be fetched from its URL ({type(err).__name__}).") from None
