"""Every place the studio reaches into Gradio's internals, in one module.

Each reach-in works around something Gradio 6.31.0 does that the studio cannot live with, says what upstream does
wrong, checks the Gradio version when it is used (``_pinned``: another version fails loudly, because internals
move without notice), and has a canary in ``tests/test_gradio_compat.py`` that runs Gradio *without* the
work-around and fails once upstream no longer behaves that way: the signal to delete the work-around.

    keep_session_ids          a page's session grows with every component update (a memory leak)
    drop_departed_sessions    a closed page's session is never dropped (only at 10,000 sessions)
    direct_peers              any client on loopback names its own address in X-Forwarded-For (uvicorn's default)
    RawImage, Raw*            uploads and values are checked by Gradio with bare messages naming no field
    english                   the API description (/info) shows translation keys instead of labels
    ServedVideo, served_file  a file value is copied into Gradio's cache and served from there to anyone for a day
    forget_cached             (so the studio serves its files itself and removes any copy Gradio made on Delete)
    add_translation           page text made at build time is registered with gr.I18n after it was made

Gradio writes a stub (``gradio_compat.pyi``) beside any module that defines a component subclass when it is
imported; it is git-ignored, and ``.ci/run`` type-checks a clean clone, where it does not exist yet.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

GRADIO_TESTED = "6.31.0"  # the one version every reach-in below was written and tested against


class GradioVersionError(RuntimeError):
    """The installed Gradio is not the one the work-arounds were tested with."""


def _pinned(what: str) -> None:
    if gr.__version__ != GRADIO_TESTED:
        raise GradioVersionError(
            f"studio.ui.gradio_compat.{what} reaches into Gradio {GRADIO_TESTED}'s internals, but Gradio "
            f"{gr.__version__} is installed. Run tests/test_gradio_compat.py on it: delete each work-around whose "
            f"canary fails, re-check the others, then update GRADIO_TESTED."
        )


# --- sessions ---------------------------------------------------------------------------------------------------


def keep_session_ids() -> None:
    """Make Gradio's per-session copy of an updated component keep the id of the component it stands in for.

    Upstream (``Blocks.postprocess_data``): on every ``gr.update``, and for every output a handler leaves out of a
    dict (treated as an empty update), Gradio stores a fresh copy of the component in the page's session:
    ``state[id] = Block(**kwargs)``. The copy gets a new id of its own, and the next plain value for that output is
    stored under the copy's id (``block = state[block._id]``, then ``state[block._id] = block``), so the session
    gains a component and its config (with its JSON schema) each time: two to six per generation here, for as long
    as the page stays open. Giving the copy its original id keeps the session at one entry per component.

    Applied once, by the entry point (``studio.ui.app.assemble``); idempotent.
    """
    from gradio.blocks import Block
    from gradio.state_holder import SessionState

    _pinned("keep_session_ids")
    if getattr(SessionState.__setitem__, "keeps_ids", False):
        return
    original = SessionState.__setitem__

    def __setitem__(self: SessionState, key: int, value: Any) -> None:
        page_block = self.blocks_config.blocks.get(key)
        if page_block is not None and not page_block.stateful and isinstance(value, Block) and value._id != key:
            value._id = key  # the copy stands in for the page's component `key`
        original(self, key, value)

    __setitem__.keeps_ids = True  # type: ignore[attr-defined]
    __setitem__.original = original  # type: ignore[attr-defined]  # for the canary test
    SessionState.__setitem__ = __setitem__  # type: ignore[method-assign]


def drop_departed_sessions(state_holder: Any, *, now: datetime.datetime, ttl_s: float) -> int:
    """Drop the sessions of pages that closed (their heartbeat ended) and were not used for ``ttl_s``.

    Upstream (``StateHolder``): a session is dropped only when more than ``state_session_capacity`` exist; a closed
    page loses its ``gr.State`` values after an hour (``SessionState.STATE_TTL_WHEN_CLOSED``) but keeps its copy of
    the page's config (about 0.3 MB) forever. A page that is still open is never dropped here, however idle.
    Returns how many sessions were dropped.
    """
    _pinned("drop_departed_sessions")
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


# --- the client's address ---------------------------------------------------------------------------------------


def direct_peers() -> None:
    """Let handlers see the direct peer's address (``request.client.host``), not one a request names itself.

    Upstream (``gradio.http_server``): Gradio runs uvicorn with its defaults, ``proxy_headers=True`` and
    ``forwarded_allow_ips`` from FORWARDED_ALLOW_IPS or 127.0.0.1, so any client connecting through loopback (a
    local proxy, or anything on the host) sets its own address with ``X-Forwarded-For``, and the spend caps per
    address would count whatever a caller wrote there. ``studio.identity`` reads that header itself, only from the
    proxies STUDIO_TRUSTED_PROXIES names.

    Applied once, by the entry point (``studio.ui.app.assemble``), before launch; idempotent.
    """
    from gradio import http_server

    _pinned("direct_peers")
    if getattr(http_server.Server.__init__, "direct_peers", False):
        return
    original = http_server.Server.__init__

    def __init__(self: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        config.proxy_headers = False  # read by config.load(), when the server starts
        original(self, config, *args, **kwargs)

    __init__.direct_peers = True  # type: ignore[attr-defined]
    __init__.original = original  # type: ignore[attr-defined]  # for the canary test
    http_server.Server.__init__ = __init__  # type: ignore[method-assign]


# --- components that hand values to the studio untouched ----------------------------------------------------------


class _PassThrough:
    """Hands the submitted value to the handler as it came, so the studio's own checks answer with a message
    naming the field and what is allowed.

    Upstream: ``gr.Slider``/``gr.Number``/``gr.Radio`` check an API caller's value themselves and answer
    "Value 6 is greater than maximum value 5." or "Could not preprocess input component…", naming no field
    (the page cannot send such values; an API caller can send anything).
    """

    def preprocess(self, payload: Any) -> Any:
        return payload


class RawImage(gr.Image):
    """An image upload that hands the uploaded file's path to the studio untouched.

    Upstream: ``gr.Image`` opens every upload with Pillow before the handler runs, so a broken, huge or disguised
    file fails there with a bare "Error". The studio's own checks answer with a message naming the field and
    what is allowed. It uses ``gr.Image``'s frontend unchanged.
    """

    # No __init__ here: Gradio builds a component's config from its constructor's signature.

    def get_block_name(self) -> str:  # asked when the page's config is built
        _pinned("RawImage")
        return "image"

    def preprocess(self, payload: Any) -> str | None:
        return str(payload.path) if payload is not None and payload.path else None


class RawSlider(_PassThrough, gr.Slider):
    def get_block_name(self) -> str:
        _pinned("RawSlider")
        return "slider"


class RawNumber(_PassThrough, gr.Number):
    def get_block_name(self) -> str:
        _pinned("RawNumber")
        return "number"


class RawDropdown(_PassThrough, gr.Dropdown):
    """A dropdown whose choices are each visitor's own (set per page, e.g. their storyboards): Gradio would check a
    value against the choices the page was built with. The handler checks it belongs to the visitor."""

    def get_block_name(self) -> str:
        _pinned("RawDropdown")
        return "dropdown"


class RawRadio(_PassThrough, gr.Radio):
    """Passes the choice's value through (the page only offers valid ones; the form checks API callers')."""

    def get_block_name(self) -> str:
        _pinned("RawRadio")
        return "radio"


# --- files the studio serves itself ------------------------------------------------------------------------------


def root_url(request: gr.Request) -> str:
    """The app's public root URL as the visitor reached it (behind a proxy too), without a trailing slash."""
    _pinned("root_url")
    from gradio import route_utils

    raw = request.request
    if raw is None:  # not a request over HTTP (a test calling a handler directly): links stay relative
        return ""
    path = raw.url.path
    at = path.find("/gradio_api/")
    return route_utils.get_root_url(
        request=raw, route_path=path[at:] if at >= 0 else path, root_path=getattr(raw.app, "root_path", "") or None
    )


def served_file(url: str, *, name: str) -> FileData:
    """A file value that Gradio hands to the browser as ``url`` (absolute: the studio's own route) untouched.

    Upstream: a path or a plain URL returned to a component is copied into Gradio's cache (a URL is downloaded,
    and a loopback one refused), then served from the cache to whoever has its link for a day, whatever happens
    to the original; only a value whose ``url`` is already an http(s) URL is passed through."""
    _pinned("served_file")
    return FileData(path=url, url=url, orig_name=name)


class _ServedValue:
    """Hands a ``served_file`` value to the browser as it is (a path still goes the usual way)."""

    def postprocess(self, value: Any) -> Any:
        if isinstance(value, FileData):
            return value
        return super().postprocess(value)  # type: ignore[misc]


class ServedVideo(_ServedValue, gr.Video):
    def get_block_name(self) -> str:
        _pinned("ServedVideo")
        return "video"


class ServedDownload(_ServedValue, gr.DownloadButton):
    def get_block_name(self) -> str:
        _pinned("ServedDownload")
        return "downloadbutton"


def forget_cached(path: Path) -> None:
    """Remove the copies Gradio keeps of the file at ``path`` in its cache (``<cache>/<hash of its bytes>/``),
    for instance of a kept input put back into a form by Reuse."""
    _pinned("forget_cached")
    from gradio import processing_utils
    from gradio.utils import get_upload_folder
    from gradio_client import utils as client_utils

    folder = Path(get_upload_folder()) / processing_utils.hash_file(path)
    (folder / client_utils.strip_invalid_filename_characters(path.name)).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # another file of the same bytes may still be there
        folder.rmdir()


class _Choice:
    """Refuses a value outside the component's choices with a message naming the field and the allowed values
    ("Provider: 'x' is not known. Use one of: simulator, runway."), for a choice every handler relies on.

    Upstream: ``gr.Radio`` and ``gr.Dropdown`` answer "Value: 'x' (type: <class 'str'>) is not in the list of choices:
    [...]", naming no field. A component's ``preprocess`` is not given the request, so the message is in English.
    """

    none_allowed = False  # a component the page can leave empty

    def preprocess(self, payload: Any) -> Any:
        if payload is None and self.none_allowed:
            return None
        allowed = [value for _, value in getattr(self, "choices", ())]
        if payload not in allowed:
            raise gr.Error(self.refusal(payload, allowed))
        return payload

    def refusal(self, value: Any, allowed: list[Any]) -> str:
        from studio.i18n import DEFAULT, t  # here: studio.ui.translations imports this module
        from studio.ui.translations import english_of

        field = english(getattr(self, "label", None), english_of) or "Choice"
        return t(DEFAULT, "field.unknown_choice", field=field, value=value, allowed=", ".join(map(str, allowed)))


class ChoiceRadio(_Choice, gr.Radio):
    def get_block_name(self) -> str:
        _pinned("ChoiceRadio")
        return "radio"


class ChoiceDropdown(_Choice, gr.Dropdown):
    """A single choice, never a custom value; empty means "any" to its handlers."""

    none_allowed = True

    def get_block_name(self) -> str:
        _pinned("ChoiceDropdown")
        return "dropdown"


# --- translations ------------------------------------------------------------------------------------------------


def english(value: Any, english_of: Callable[[str], str]) -> Any:
    """``value`` with Gradio translation keys replaced by their English text (``english_of(key)``).

    Upstream: ``Blocks.get_api_info`` (what ``/info`` and gradio_client read) puts a component's label there as
    it was given: an ``I18nData``, or a string holding its ``__i18n__{...}`` marker, never the text. API callers
    name parameters by label, so they get English.
    """
    _pinned("english")
    key = getattr(value, "key", None)
    if key is not None and isinstance(value, gr.i18n.I18nData):
        return english_of(key)
    if isinstance(value, str) and _MARKER in value:
        return _replace_markers(value, english_of)
    if isinstance(value, dict):
        if value.get("_type") == "translation_metadata" or value.get("__type__") == "translation_metadata":
            return english_of(str(value.get("key", "")))
        return {k: english(v, english_of) for k, v in value.items()}
    if isinstance(value, list):
        return [english(v, english_of) for v in value]
    return value


_MARKER = "__i18n__"
_MARKER_JSON = re.compile(r"__i18n__(\{[^{}]*\})")


def _replace_markers(text: str, english_of: Callable[[str], str]) -> str:
    """Each ``__i18n__{"__type__": "translation_metadata", "key": "..."}`` in ``text`` replaced by its English."""

    def one(match: re.Match[str]) -> str:
        try:
            return str(english_of(json.loads(match.group(1))["key"]))
        except (ValueError, KeyError, TypeError):
            return match.group(0)

    return _MARKER_JSON.sub(one, text)


def add_translation(i18n: gr.I18n, lang: str, key: str, text: str) -> None:
    """Register ``key`` in ``lang`` with a ``gr.I18n`` after it was made.

    Upstream: ``gr.I18n`` takes its translations only in its constructor; the page's text made at build time (a
    cost line with numbers in it) exists only later. Its ``translations`` dict is read when the page is served.
    """
    _pinned("add_translation")
    i18n.translations.setdefault(lang, {})[key] = text


def translation(i18n: gr.I18n, lang: str, key: str) -> str | None:
    """A key registered with ``add_translation`` (None when there is none)."""
    _pinned("translation")
    found = i18n.translations.get(lang, {}).get(key)
    return None if found is None else str(found)
