"""How a tab's controls map to its form's fields: each tab declares one list of bindings, and everything else is
derived from it: the generate event's inputs, the form built from the page's values, the examples' columns and
values, and what "Reuse settings" (or a chaining action) puts back.

    Field(self.prompt, "prompt_text")                         # one control, one form value
    Upload(self.first, self.first_url, "first")               # a file or an https link -> MediaInput
    Seed(self.random_seed, self.seed)                         # the "Random seed" box and the number
    Field(self.watermark, "watermark", option="watermark")    # only for models that take it (ModelSpec.options)

A binding reads a control's value into the form (``read``, which raises ``InvalidInput`` naming the field for a
value an API caller sent that the page could not) and shows a form's values in its controls (``fill``, and
``example`` for a row of ``gr.Examples``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import gradio as gr

from studio.capabilities import ModelSpec
from studio.errors import FieldIssue, InvalidInput
from studio.forms import NO_MEDIA, MediaInput
from studio.i18n import Label, Msg

Data = Mapping[Any, Any]  # the page's values, by component (Gradio's dict inputs)
LabelOf = Callable[[str, "str | None"], str]  # a form field's name (and wire option) -> what messages call it


def _anchor(label: str, component: Any) -> dict[str, str]:
    elem_id = getattr(component, "elem_id", None)
    return {label: elem_id} if elem_id else {}


def same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Field:
    """One control for one form value. ``option``: the wire field it sets, for a control offered only to models
    that take it. ``to_page``: how a form value is shown in the control (Reuse, examples)."""

    component: Any
    name: str
    read_value: Callable[[Any], Any] = same
    to_page: Callable[[Any], Any] = same
    option: str | None = None
    empty: Any = None  # what the control shows for "not set"

    @property
    def components(self) -> tuple[Any, ...]:
        return (self.component,)

    @property
    def example_components(self) -> tuple[Any, ...]:
        return (self.component,)

    def read(self, data: Data) -> Any:
        return self.read_value(data[self.component])

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        return _anchor(label_of(self.name, self.option), self.component)

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        return {self.component: self.example(values)[0]}

    def example(self, values: Mapping[str, Any]) -> list[Any]:
        value = values.get(self.name)
        return [self.empty if value is None else self.to_page(value)]


@dataclass(frozen=True)
class Upload:
    """A media input: an uploaded file or an https link, read into a ``MediaInput`` (the upload wins)."""

    upload: Any
    link: Any
    name: str

    @property
    def components(self) -> tuple[Any, ...]:
        return (self.upload, self.link)

    @property
    def example_components(self) -> tuple[Any, ...]:
        return (self.upload,)

    option: ClassVar[str | None] = None

    def read(self, data: Data) -> MediaInput:
        path, url = data[self.upload], data[self.link]
        return MediaInput(path=str(path) if path else None, url=(url or "").strip() or None)

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        return _anchor(label_of(self.name, None), self.upload)

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        value = values.get(self.name) or NO_MEDIA
        return {self.upload: value.path, self.link: value.url or ""}

    def example(self, values: Mapping[str, Any]) -> list[Any]:
        return [values.get(self.name)]  # an example gives a bundled file's path


@dataclass(frozen=True)
class Seed:
    """The "Random seed" box and the seed number: ``None`` (a random seed, chosen and reported when sent) or a
    whole number."""

    random: Any
    number: Any
    name: str = "seed"
    option: ClassVar[str | None] = None

    @property
    def components(self) -> tuple[Any, ...]:
        return (self.random, self.number)

    @property
    def example_components(self) -> tuple[Any, ...]:
        return ()  # an example leaves the seed as it is

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        return _anchor(label_of(self.name, None), self.number)

    def read(self, data: Data) -> int | None:
        if data[self.random]:
            return None
        seed = whole("Seed")(data[self.number])
        if seed is None:
            raise InvalidInput(FieldIssue("Seed", Msg("page.seed_empty")))
        return seed

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        value = values.get(self.name)
        return {self.random: value is None, self.number: gr.update(value=value, visible=value is not None)}

    def example(self, values: Mapping[str, Any]) -> list[Any]:
        return []


class Binding(Protocol):
    """What every binding offers (``Field``, ``Upload``, ``Seed``, or a tab's own)."""

    @property
    def name(self) -> str: ...

    @property
    def option(self) -> str | None: ...

    @property
    def components(self) -> tuple[Any, ...]: ...

    @property
    def example_components(self) -> tuple[Any, ...]: ...

    def read(self, data: Data) -> Any: ...

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        """Where a problem with this field is shown on the page: the id of a control, by the field's name as the
        studio's messages call it."""
        ...

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]: ...

    def example(self, values: Mapping[str, Any]) -> list[Any]: ...


@dataclass(frozen=True)
class Bindings:
    """A tab's bindings, and what is derived from them."""

    items: Sequence[Binding]
    groups: Mapping[Any, tuple[str, ...]] = field(default_factory=dict)  # container -> options inside it

    def components(self) -> set[Any]:
        """Every control the form is read from (the generate event's inputs)."""
        return {c for b in self.items for c in b.components}

    def read(self, data: Data, spec: ModelSpec | None) -> dict[str, Any]:
        """The form's values from the page's. A control for an option the model does not take is left out, so
        nothing the model refuses is sent. Raises InvalidInput listing every field that cannot be read."""
        values: dict[str, Any] = {}
        issues: list[FieldIssue] = []
        for binding in self.items:
            if binding.option and not takes(spec, binding.option):
                continue
            if isinstance(binding, Seed) and spec is not None and not spec.seed:
                continue  # a model that takes no seed (the upscaler) is sent none
            try:
                values[binding.name] = binding.read(data)
            except InvalidInput as err:
                issues += err.issues
        if issues:
            raise InvalidInput(issues)
        return values

    def fill(self, values: Mapping[str, Any], *, only: Iterable[str] | None = None) -> dict[Any, Any]:
        """Updates that show ``values`` in the controls: every binding (Reuse), or ``only`` the named ones."""
        chosen = [b for b in self.items if only is None or b.name in set(only)]
        return {c: v for b in chosen for c, v in b.fill(values).items()}

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        """The id of the control that shows a problem with each field, by the field's name in messages."""
        return {label: elem_id for b in self.items for label, elem_id in b.anchors(label_of).items()}

    def targets(self, *, only: Iterable[str] | None = None) -> list[Any]:
        """The components ``fill`` sets."""
        return [c for b in self.items if only is None or b.name in set(only) for c in b.components]

    def examples(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[list[Any]]]:
        """(inputs, rows) for the examples table: a column for each field some example sets to a value."""
        used = [b for b in self.items if b.example_components and any(row.get(b.name) is not None for row in rows)]
        inputs = [c for b in used for c in b.example_components]
        return inputs, [[v for b in used for v in b.example(row)] for row in rows]

    def visibility(self, spec: ModelSpec | None) -> dict[Any, Any]:
        """Option controls (and their containers) shown only for models that take them."""
        updates = {
            b.component: gr.update(visible=takes(spec, b.option))
            for b in self.items
            if isinstance(b, Field) and b.option and b.component not in _grouped(self.groups, self.items)
        }
        updates |= {group: gr.update(visible=any(takes(spec, o) for o in opts)) for group, opts in self.groups.items()}
        for seed in (b for b in self.items if isinstance(b, Seed)):  # hidden (and random) for a model without one
            seeded = spec is None or spec.seed
            updates[seed.random] = gr.update(visible=True) if seeded else gr.update(visible=False, value=True)
            updates[seed.number] = gr.update() if seeded else gr.update(visible=False)
        return updates

    def visibility_targets(self) -> list[Any]:
        return list(self.visibility(None))


def _grouped(groups: Mapping[Any, tuple[str, ...]], items: Sequence[Binding]) -> set[Any]:
    options = {o for opts in groups.values() for o in opts}
    return {b.component for b in items if isinstance(b, Field) and b.option in options}


def takes(spec: ModelSpec | None, option: str | None) -> bool:
    """The model takes this optional field (None: not an option, always taken)."""
    return option is None or (spec is not None and option in spec.options)


# --- reading what an API caller may send ------------------------------------------------------------------------


def whole(label: str) -> Callable[[Any], int | None]:
    """A reader for a whole number typed or chosen in a control; InvalidInput naming the control otherwise."""

    def read(value: Any) -> int | None:
        if value in (None, ""):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(FieldIssue(label, Msg("req.whole_number", field=Label(label), value=value))) from None
        if not number.is_integer():
            raise InvalidInput(FieldIssue(label, Msg("req.whole_number", field=Label(label), value=value)))
        return int(number)

    return read


def one_of(choices: Iterable[str], label: str, message: str) -> Callable[[Any], Any]:
    """A reader for a choice, checked here: an API caller can send anything."""
    allowed = frozenset(choices)

    def read(value: Any) -> Any:
        if value not in allowed:
            raise InvalidInput(FieldIssue(label, Msg(message, field=Label(label), value=repr(value))))
        return value

    return read


def text(value: Any) -> str:
    return str(value or "")


def text_or_none(value: Any) -> str | None:
    """Text as typed (spaces kept, so "only spaces" can be named), or None when empty: not sent."""
    return str(value or "") or None


def prompt_field(textbox: Any) -> Field:
    """The prompt: sent as typed (spaces kept, so "only spaces" can be named), not at all when empty."""
    return Field(textbox, "prompt_text", read_value=text_or_none, empty="")


def stripped_or_none(value: Any) -> str | None:
    return str(value or "").strip() or None
