"""The catalogs: one JSON file per locale in ``studio/locales/``, read once when this module is imported.

Keys: ``ui.*`` static page text (sent to the browser through Gradio's I18n); ``label.*`` names of fields, tabs,
providers and key sources (the part after ``label.`` is the English name itself); everything else is rendered on
the server. Each file's ``_joins`` entry says how that language joins a list: ``[between, before the last]``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
LOCALES = Path(__file__).resolve().parent.parent / "locales"

JoinHow = Literal["comma", "or", "and", "list_or", "sentences"]


def _load(lang: str) -> tuple[Mapping[str, str], Mapping[str, tuple[str, str]]]:
    data = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    joins = {how: (pair[0], pair[1]) for how, pair in data.pop("_joins").items()}
    return MappingProxyType(data), MappingProxyType(joins)


_LOADED = {lang: _load(lang) for lang in LANGUAGES}
CATALOG: Mapping[str, Mapping[str, str]] = MappingProxyType({lang: messages for lang, (messages, _) in _LOADED.items()})
JOINS: Mapping[str, Mapping[str, tuple[str, str]]] = MappingProxyType({lang: j for lang, (_, j) in _LOADED.items()})
EN = CATALOG["en"]
ZH = CATALOG["zh-CN"]


def t(lang: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``lang`` (English where ``lang`` has no text for it), formatted with ``params``.

    An unknown key raises KeyError (tests scan the code for every key used). A parameter with a ``render(lang)``
    method (a message object) is rendered in ``lang`` too; others are formatted as they are, so templates can use
    format specs ({seconds:.1f}, {value!r}).
    """
    table = CATALOG.get(lang, EN)
    template = table.get(key)
    if template is None:
        template = EN[key]
    return template.format(**{name: rendered(value, lang) for name, value in params.items()})


def rendered(value: Any, lang: str) -> Any:
    """``value`` in ``lang`` when it is a message object, else ``value`` itself."""
    render = getattr(value, "render", None)
    return render(lang) if callable(render) else value


def joined(items: tuple[Any, ...], how: JoinHow, lang: str) -> str:
    """``items`` (each rendered in ``lang``) joined as ``lang`` joins a list."""
    between, last = JOINS.get(lang, JOINS[DEFAULT])[how]
    shown = [str(rendered(item, lang)) for item in items]
    if len(shown) < 2:
        return "".join(shown)
    return between.join(shown[:-1]) + last + shown[-1]


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses (for the catalog's tests)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
