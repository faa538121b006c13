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
from studio.i18n import Message, Msg

MediaKind = Literal["image", "video"]

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?P<params>(;[\w.+-]+=[\w.+-]+)*);base64,", re.IGNORECASE)


def _human_bytes(n: int) -> Message:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB".replace(".0 MiB", " MiB")
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return Msg("unit.bytes", count=n)


human_bytes = _human_bytes


def url_problem(url: str, *, limits: InputLimits) -> Message | None:
    """Why ``url`` cannot be sent as an input URL, or None when it can (a ``Msg``: English as a ``str``)."""
    if len(url) > limits.url_max_chars:
        return Msg("uri.too_long", length=len(url), most=limits.url_max_chars)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return Msg("uri.spaces")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return Msg("uri.https_only", scheme=parts.scheme) if parts.scheme else Msg("uri.https_only_no_scheme")
    host = parts.hostname or ""
    if not host:
        return Msg("uri.no_host")
    if parts.username or parts.password:
        return Msg("uri.credentials")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return Msg("uri.ip_address", host=host)
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        return Msg("uri.not_public", host=host)
    if labels[-1].isdigit():
        return Msg("uri.not_public", host=host)
    return None


def data_uri_problem(uri: str, *, kind: MediaKind, limits: InputLimits) -> Message | None:
    """Why a data URI cannot be sent for a ``kind`` input, or None when it can."""
    match = _DATA_URI.match(uri)
    if not match:
        return Msg("uri.data_shape", kind=kind)
    mime = match.group("mime").lower()
    if not mime.startswith(f"{kind}/"):
        return Msg(f"uri.data_wrong_kind_{kind}", mime=mime)
    cap = limits.image_data_uri_bytes if kind == "image" else limits.video_data_uri_bytes
    if len(uri) > cap:
        return Msg(f"uri.data_too_large_{kind}", size=_human_bytes(len(uri)), cap=_human_bytes(cap))
    payload = uri[match.end() :]
    if not payload or len(payload) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", payload):
        return Msg("uri.data_base64")
    return None


RUNWAY_URI = "runway://"  # an ephemeral upload (POST /v1/uploads), usable for 24 h
UPLOAD_PLACEHOLDER = RUNWAY_URI + "pending/"  # stands for an input until its upload is done (studio.jobs)


def uri_problem(uri: str, *, kind: MediaKind, limits: InputLimits) -> Message | None:
    """Why ``uri`` (an https URL, a data URI, or an upload's runway:// URI) cannot be sent for a ``kind`` input."""
    if uri.startswith(RUNWAY_URI):
        return None if limits.uploads and len(uri) > len(RUNWAY_URI) else Msg("uri.no_uploads")
    if uri.lower().startswith("data:"):
        return data_uri_problem(uri, kind=kind, limits=limits)
    return url_problem(uri, limits=limits)


def data_uri_mime(uri: str) -> str | None:
    """The media type of a data URI, or None when ``uri`` is not one."""
    match = _DATA_URI.match(uri)
    return match.group("mime").lower() if match else None
