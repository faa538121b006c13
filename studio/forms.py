"""What a visitor filled in on a tab, and how it becomes a validated request.

A ``Form`` is one endpoint's values by name: the request's own fields by their Python names (``prompt_text``,
``duration``...), its media inputs as ``MediaInput`` under the request's slot names (``first``, ``video``...), and a
few choices that shape what is sent without being sent (``fit``, ``threshold``, ``character_type``). Nothing here
lists a tab's fields: the request model's fields and ``SLOTS`` say what a form can hold.

``prepare_blocking`` checks every rule that needs no media work first (so a wrong ratio is reported at once, not
after processing a 24-megapixel photo), then prepares the media and validates the final request against the
capability table. Forms round-trip through ``to_dict``/``from_dict`` for History ("Reuse settings").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from studio import media
from studio.capabilities import Endpoint, InputLimits, ModelSpec, ProviderSpec, VideoInputRule
from studio.errors import FieldIssue, InvalidInput
from studio.i18n import Label, Message, Msg
from studio.pricing import Estimate, estimate, output_seconds
from studio.requests import REQUEST_TYPES, Request, Slot, check_request, parse_request

Fit = Literal["crop", "pad", "as-is"]
FITS: tuple[Fit, ...] = ("crop", "pad", "as-is")


@dataclass(frozen=True)
class MediaInput:
    """An input given as an uploaded file or an https link (the upload wins when both are given)."""

    path: str | None = None
    url: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.path) or bool((self.url or "").strip())


NO_MEDIA = MediaInput()


@dataclass(frozen=True)
class Form:
    """One tab's values: ``Form.of("image_to_video", model="gen4_turbo", first=MediaInput(path=...), ...)``."""

    endpoint: Endpoint
    values: Mapping[str, Any]

    @classmethod
    def of(cls, endpoint: Endpoint, **values: Any) -> Form:
        return cls(endpoint, dict(values))

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    @property
    def model(self) -> str:
        return str(self.get("model", ""))

    @property
    def ratio(self) -> str:
        return str(self.get("ratio", ""))

    @property
    def seed(self) -> int | None:
        seed = self.values.get("seed")
        return None if seed is None else int(seed)

    @property
    def fit(self) -> Fit:
        return self.get("fit", "crop")  # type: ignore[no-any-return]

    @property
    def slots(self) -> Mapping[str, Slot]:
        return REQUEST_TYPES[self.endpoint].SLOTS

    def media(self) -> dict[str, MediaInput]:
        """Every media input of the form by slot name, given or not."""
        return {name: self.values.get(name) or NO_MEDIA for name in self.slots}

    def kind_of(self, slot: str) -> str:
        """Whether an input is an image or a video (a character is whichever the form says)."""
        return self.slots[slot].kind or str(self.get("character_type", "image"))

    def replace(self, **changes: Any) -> Form:
        return Form(self.endpoint, {**self.values, **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (media inputs as {"path", "url"})."""
        return {k: ({"path": v.path, "url": v.url} if isinstance(v, MediaInput) else v) for k, v in self.values.items()}

    @classmethod
    def from_dict(cls, endpoint: Endpoint, data: Mapping[str, Any]) -> Form:
        """The form back from ``to_dict`` data."""
        slots = REQUEST_TYPES[endpoint].SLOTS
        values = {
            k: MediaInput(**v) if k in slots and isinstance(v, dict) else v for k, v in data.items() if k != "endpoint"
        }
        return cls(endpoint, values)


@dataclass(frozen=True)
class Prepared:
    """A validated request ready to send, what it will cost, and what was done to the inputs."""

    request: Request
    provider: ProviderSpec
    estimate: Estimate
    form: Form  # as it was prepared (its seed chosen)
    notes: tuple[Message, ...] = ()
    previews: Mapping[str, Image.Image] = field(default_factory=dict)


# --- checks that need no media work ----------------------------------------------------------------------------

_PLACEHOLDER = {"image": "data:image/png;base64,AAAA", "video": "data:video/mp4;base64,AAAA"}


def check_form(form: Form, *, provider: ProviderSpec) -> None:
    """Every check that needs no media work (raises InvalidInput): uploads stand in as placeholders, links are
    checked as links (the studio never fetches them)."""
    issues = _missing_inputs(form) + _link_issues(form, limits=provider.limits)
    given = {name: _PLACEHOLDER[form.kind_of(name)] for name, value in form.media().items() if value.given}
    body = REQUEST_TYPES[form.endpoint].body_from(form.values, given)
    try:
        request = parse_request(form.endpoint, body, provider=provider)
    except InvalidInput as err:
        issues += [i for i in err.issues if i.field not in {j.field for j in issues}]
    else:
        issues += check_request(request, provider=provider)
    if issues:
        raise InvalidInput(issues)


def _missing_inputs(form: Form) -> list[FieldIssue]:
    return [
        FieldIssue(slot.label, Msg("form.required", field=Label(slot.label)))
        for name, slot in form.slots.items()
        if slot.required and not form.media()[name].given
    ]


def _link_issues(form: Form, *, limits: InputLimits) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for name, given in form.media().items():
        if given.given and not given.path:
            try:
                media.check_url((given.url or "").strip(), field=form.slots[name].label, limits=limits)
            except InvalidInput as err:
                issues += err.issues
    return issues


# --- preparing the media and the request ---------------------------------------------------------------------


def prepare_blocking(form: Form, *, provider: ProviderSpec, workdir: Path) -> Prepared:
    """Check the form (cheap checks first), prepare its media, and validate the request. Raises InvalidInput."""
    check_form(form, provider=provider)
    spec = provider.models[form.model]
    uris: dict[str, str] = {}
    notes: list[Message] = []
    previews: dict[str, Image.Image] = {}
    seconds: float | None = None
    issues: list[FieldIssue] = []
    for name, given in form.media().items():
        if not given.given:
            continue
        try:
            uris[name], note, preview, length = _prepare_input(
                form, name, spec=spec, provider=provider, workdir=workdir
            )
        except InvalidInput as err:
            issues += err.issues
            continue
        notes += [note] if note else []
        if preview is not None:
            previews[name] = preview
        if length is not None and form.slots[name].drives_length:
            seconds = length
    if issues:
        raise InvalidInput(issues)
    request = parse_request(form.endpoint, REQUEST_TYPES[form.endpoint].body_from(form.values, uris), provider=provider)
    out_s = output_seconds(spec, duration=form.get("duration"), input_seconds=seconds) or 0.0
    return Prepared(request, provider, estimate(spec, seconds=out_s), form, tuple(notes), previews)


def _prepare_input(
    form: Form, name: str, *, spec: ModelSpec, provider: ProviderSpec, workdir: Path
) -> tuple[str, Message, Image.Image | None, float | None]:
    """(uri, note, preview, seconds) for one input."""
    given, slot, limits = form.media()[name], form.slots[name], provider.limits
    if not given.path:
        return media.check_url((given.url or "").strip(), field=slot.label, limits=limits), "", None, None
    if form.kind_of(name) == "image":
        image = media.prepare_image(given.path, field=slot.label, ratio=form.ratio, fit=form.fit, limits=limits)
        return image.data_uri, "", image.preview, None
    rule = spec.video_inputs.get(slot.wire) or VideoInputRule()
    video = media.prepare_video(given.path, field=slot.label, rule=rule, limits=limits, workdir=workdir)
    note: Message = ""
    if video.trimmed and rule.use_first_seconds:
        note = Msg("form.trimmed", field=Label(slot.label), keep=rule.use_first_seconds, total=video.source.duration_s)
    elif video.reencoded:
        note = Msg("form.reencoded", field=Label(slot.label))
    return video.data_uri, note, None, video.info.duration_s
