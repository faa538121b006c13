"""Messages that translate: a catalog message (``Msg``), a name (``Label``) and a list (``Join``).

Each is a small immutable object that renders itself in any language (``render(lang)``); ``str()`` of it is the
English text. A ``Message`` is one of them or a plain ``str`` (words from elsewhere, e.g. a provider's own error
text, shown as they are in every language). ``localize`` turns any of these, or anything with a
``localized(lang)`` method (a ``FieldIssue``, a ``StudioError``), into text for a visitor.

    Msg("req.required", field=Label("Seed"))          # "Seed is required." / "随机种子为必填项。"
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Union

from studio.i18n.catalog import CATALOG, DEFAULT, EN, JoinHow, joined, t


class Text(ABC):
    """Text that can say itself in any of the studio's languages; ``str()`` is the English."""

    __slots__ = ()

    @abstractmethod
    def render(self, lang: str) -> str:
        """The text in ``lang`` (English where ``lang`` has no translation)."""

    def __str__(self) -> str:
        return self.render(DEFAULT)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


Message = Union[str, Text]  # noqa: UP007 - a runtime alias: Text is defined just above


class Msg(Text):
    """A catalog message with its parameters. A key the catalog lacks fails here, where it is made."""

    __slots__ = ("_english", "key", "params")

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params: Mapping[str, Any] = MappingProxyType(dict(params))
        self._english = t(DEFAULT, key, **params)

    def render(self, lang: str) -> str:
        return self._english if lang == DEFAULT else t(lang, self.key, **self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, dict(self.params)) == (other.key, dict(other.params))

    def __hash__(self) -> int:
        return hash((self.key, self._english))

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {dict(self.params)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_msg, (self.key, dict(self.params)))


def _msg(key: str, params: Mapping[str, Any]) -> Msg:
    return Msg(key, **params)


class Label(Text):
    """The name of a field, tab, provider or key source, e.g. ``Label("First frame")`` (首帧 in Chinese)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = str(name)

    def render(self, lang: str) -> str:
        return CATALOG.get(lang, EN).get(f"label.{self.name}", self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Label) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("label", self.name))

    def __repr__(self) -> str:
        return f"Label({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Label, (self.name,))


class Join(Text):
    """Items joined as each language joins a list (", " and "or" in English, "、" and "或" in Chinese)."""

    __slots__ = ("how", "items")

    def __init__(self, items: Iterable[Any], how: JoinHow = "comma") -> None:
        self.items: tuple[Any, ...] = tuple(items)
        self.how: JoinHow = how

    def render(self, lang: str) -> str:
        return joined(self.items, self.how, lang)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Join) and (other.items, other.how) == (self.items, self.how)

    def __hash__(self) -> int:
        return hash((self.items, self.how))

    def __repr__(self) -> str:
        return f"Join({list(self.items)!r}, {self.how!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Join, (self.items, self.how))


def localize(thing: Any, lang: str) -> str:
    """``thing`` as the visitor should read it in ``lang``: a ``Text``, anything with a ``localized(lang)`` method
    (a ``FieldIssue``, a ``StudioError``), or any other value as its plain ``str``; None is empty."""
    if thing is None:
        return ""
    if isinstance(thing, Text):
        return thing.render(lang)
    localized = getattr(thing, "localized", None)
    if callable(localized):
        return str(localized(lang))
    return str(thing)


# --- keeping a message (History stores why a generation failed) -------------------------------------------------


def dumps(text: Message | None) -> str | None:
    """A ``Text`` as JSON, to keep beside its English; None for a plain string (nothing to translate)."""
    return json.dumps(_to_data(text), ensure_ascii=False) if isinstance(text, Text) else None


def loads(data: str | None, english: str | None = None) -> Message | None:
    """The ``Text`` kept by ``dumps`` (or ``english`` as it is, when nothing was kept or it no longer renders)."""
    if not data:
        return english
    try:
        loaded = _from_data(json.loads(data))
    except (ValueError, KeyError, TypeError, IndexError):
        return english
    return loaded if isinstance(loaded, (Text, str)) else english


def _to_data(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"msg": value.key, "params": {k: _to_data(v) for k, v in value.params.items()}}
    if isinstance(value, Label):
        return {"label": value.name}
    if isinstance(value, Join):
        return {"join": [_to_data(item) for item in value.items], "how": value.how}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _from_data(data: Any) -> Any:
    if isinstance(data, dict):
        if "msg" in data:
            return Msg(data["msg"], **{k: _from_data(v) for k, v in data["params"].items()})
        if "label" in data:
            return Label(data["label"])
        if "join" in data:
            return Join([_from_data(item) for item in data["join"]], data["how"])
    return data
