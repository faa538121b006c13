"""Rules for the URIs the API accepts: https URLs to a named host, and base64 data URIs within a size limit.

The studio never fetches a visitor's URL; it only checks its shape before handing it to the provider, which
fetches it itself (runway-api.md, "Common input rules").
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from studio.capabilities import InputLimits

MediaKind = Literal["image", "video"]

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?P<params>(;[\w.+-]+=[\w.+-]+)*);base64,", re.IGNORECASE)


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB".replace(".0 MiB", " MiB")
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"


human_bytes = _human_bytes


def url_problem(url: str, *, limits: InputLimits) -> str | None:
    """Why ``url`` cannot be sent as an input URL, or None when it can."""
    if len(url) > limits.url_max_chars:
        return f"the link is {len(url)} characters long; at most {limits.url_max_chars} are allowed"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "the link contains spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        scheme = parts.scheme or "no scheme"
        return f"only https:// links are allowed (this one uses {scheme}{':' if parts.scheme else ''})"
    host = parts.hostname or ""
    if not host:
        return "the link has no host name"
    if parts.username or parts.password:
        return "links with a user name or password are not allowed"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return f"the link must name a domain, not an IP address ({host})"
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"{host} is not a public domain name"
    if labels[-1].isdigit():
        return f"{host} is not a public domain name"
    return None


def data_uri_problem(uri: str, *, kind: MediaKind, limits: InputLimits) -> str | None:
    """Why a data URI cannot be sent for a ``kind`` input, or None when it can."""
    match = _DATA_URI.match(uri)
    if not match:
        return f"a data URI must look like data:{kind}/…;base64,…"
    mime = match.group("mime").lower()
    if not mime.startswith(f"{kind}/"):
        return f"a {mime} data URI was given where {'an' if kind == 'image' else 'a'} {kind} is expected"
    cap = limits.image_data_uri_bytes if kind == "image" else limits.video_data_uri_bytes
    if len(uri) > cap:
        return f"the encoded {kind} is {_human_bytes(len(uri))}; at most {_human_bytes(cap)} can be sent"
    payload = uri[match.end():]
    if not payload or len(payload) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", payload):
        return "the data URI is not valid base64"
    return None


def uri_problem(uri: str, *, kind: MediaKind, limits: InputLimits) -> str | None:
    """Why ``uri`` (an https URL or a data URI) cannot be sent for a ``kind`` input, or None."""
    if uri.lower().startswith("data:"):
        return data_uri_problem(uri, kind=kind, limits=limits)
    return url_problem(uri, limits=limits)


def data_uri_mime(uri: str) -> str | None:
    """The media type of a data URI, or None when ``uri`` is not one."""
    match = _DATA_URI.match(uri)
    return match.group("mime").lower() if match else None
