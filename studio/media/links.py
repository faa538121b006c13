"""Inputs given as links: checked for their shape only, never fetched."""

from __future__ import annotations

from studio.capabilities import InputLimits
from studio.errors import MediaError
from studio.i18n import Msg
from studio.uris import url_problem


def check_url(url: str, *, field: str, limits: InputLimits) -> str:
    """The URL without surrounding spaces, or ``MediaError`` saying why it cannot be sent.

    The studio never fetches it: the provider does (runway-api.md, "Common input rules").
    """
    stripped = url.strip()
    if not stripped:
        raise MediaError(field, Msg("media.no_link"))
    problem = url_problem(stripped, limits=limits)
    if problem is not None:
        raise MediaError(field, Msg("media.link_problem", problem=problem))
    return stripped
