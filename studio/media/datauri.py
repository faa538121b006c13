"""Data URIs: how a file is written as one, and how many characters that takes.

A data URI is ``data:<mime>;base64,`` followed by the file in base64, which spends 4 characters on every 3 bytes
(the last group padded). The API limits the URI's length, not the file's, so the size arithmetic lives here.
"""

from __future__ import annotations

import base64
import math


def _prefix(mime: str) -> str:
    return f"data:{mime};base64,"


def data_uri(data: bytes, mime: str) -> str:
    """``data`` as a base64 data URI of type ``mime``."""
    return f"{_prefix(mime)}{base64.b64encode(data).decode('ascii')}"


def data_uri_length(size_bytes: int, mime: str) -> int:
    """How many characters the data URI of a ``size_bytes`` file of type ``mime`` has, without building it."""
    return len(_prefix(mime)) + 4 * math.ceil(size_bytes / 3)


def payload_bytes(uri_limit: int, mime: str) -> float:
    """How many bytes of a ``mime`` file fit in a data URI of at most ``uri_limit`` characters."""
    return (uri_limit - len(_prefix(mime))) * 3 / 4
