"""Which settings differ between a few generations (History's compare view).

    rows = settings_diff([a, b, c])     # one row per setting any of them has: its label, each one's value, differs?

A setting is a field of the form the generation was made with (its request's fields by Python name, its media
inputs by slot name, and the choices that shape what is sent: fit, threshold, character_type), plus its tab and
its seed. Media inputs are compared by content, not by path (each generation keeps its own copy): the same file
is the same letter ("A", "B"...) in every column. Blocking (reads the inputs' first bytes): call it off the loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.history import Generation
from studio.requests import ENDPOINT_LABELS, REQUEST_TYPES

FIRST = ("endpoint", "model", "prompt_text", "negative_prompt", "seed", "duration", "ratio")
HIDDEN = frozenset({"notify_hook"})  # a host's business, not a setting of the clip
# The form's own choices, which no request field names.
EXTRA_LABELS = {
    "endpoint": "Tab",
    "fit": "Fit the image to the ratio",
    "threshold": "Public figure threshold",
    "character_type": "Character as",
}
DIGEST_BYTES = 1 << 20  # a file's size and first MiB tell two inputs apart without reading a 150 MB video


@dataclass(frozen=True)
class SettingRow:
    """One setting across the compared generations: ``values`` in their order (None where one has none)."""

    name: str
    label: str  # the English name (``studio.i18n.Label`` translates it)
    values: tuple[Any, ...]
    differs: bool
    media: bool = False  # the values are letters naming input files


def settings_diff(generations: Sequence[Generation]) -> list[SettingRow]:
    """Every setting of ``generations`` in a stable order (tab, model, prompt, seed... first), each marked
    whether it differs between them."""
    forms = [_settings(g) for g in generations]
    letters: dict[str, str] = {}
    rows = []
    for name in _names(forms):
        values = tuple(form.get(name) for form in forms)
        is_media = any(_is_media(v) for v in values)
        if is_media or name == "keyframes":
            values = tuple(_lettered(v, letters) for v in values)
        shown = {repr(v) for v in values}
        label = _label(next(g.endpoint for g, f in zip(generations, forms) if name in f), name)
        rows.append(SettingRow(name, label, values, len(shown) > 1, media=is_media))
    return rows


def _settings(g: Generation) -> dict[str, Any]:
    values = {k: v for k, v in g.form.items() if k not in HIDDEN and not _unset(v)}
    values["endpoint"] = ENDPOINT_LABELS.get(g.endpoint, g.endpoint)
    values["model"] = g.model
    if g.seed is not None:
        values["seed"] = g.seed
    return values


def _names(forms: list[dict[str, Any]]) -> list[str]:
    seen = [name for name in FIRST if any(name in f for f in forms)]
    for form in forms:
        seen += [name for name in form if name not in seen]
    return seen


def _label(endpoint: str, name: str) -> str:
    request = REQUEST_TYPES.get(endpoint)
    if request is not None and name in request.model_fields:
        return request.model_fields[name].title or name
    if request is not None and name in request.SLOTS:
        return request.SLOTS[name].label
    return EXTRA_LABELS.get(name, name)


def _unset(value: Any) -> bool:
    """Nothing given: no value, or a media input with neither a file nor a link."""
    return value in (None, "", []) or (_is_media(value) and not (value.get("path") or value.get("url")))


def _is_media(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"path", "url"}


def _lettered(value: Any, letters: dict[str, str]) -> Any:
    """A media input as the letter of its content; a keyframe list with each image as its letter."""
    if _is_media(value):
        key = _digest(value)
        return letters.setdefault(key, chr(ord("A") + len(letters) % 26))
    if isinstance(value, list):
        return tuple(
            {**item, "image": _lettered(item.get("image"), letters)} if isinstance(item, dict) else item
            for item in value
        )
    return value


def _digest(media: dict[str, Any]) -> str:
    path = media.get("path")
    if path and Path(path).is_file():
        with open(path, "rb") as file:
            head = file.read(DIGEST_BYTES)
        return f"file:{Path(path).stat().st_size}:{hashlib.sha256(head).hexdigest()}"
    return f"url:{media.get('url') or ''}"
