"""What a visitor filled in on a tab, and how it becomes a validated request.

A ``Form`` is one endpoint's values by name: the request's own fields by their Python names (``prompt_text``,
``duration``...), its media inputs as ``MediaInput`` under the request's slot names (``first``, ``video``...; a list
of ``KeyframeInput`` for aleph2's keyframes), and a few choices that shape what is sent without being sent (``fit``,
``threshold``, ``character_type``). Nothing here lists a tab's fields: the request model's fields and ``SLOTS`` say
what a form can hold.

``prepare_blocking`` checks every rule that needs no media work first (so a wrong ratio is reported at once, not
after processing a 24-megapixel photo), then prepares the media and validates the final request against the
capability table. An input too big for a data URI, on a provider that takes uploads, is left for the job to upload
(``Prepared.uploads``); the request holds a placeholder for it until then. Forms round-trip through
``to_dict``/``from_dict`` for History ("Reuse settings").
"""

from __future__ import annotations

import dataclasses
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
from studio.requests import REQUEST_TYPES, Request, Slot, check_request, keyframe_label, parse_request
from studio.uris import UPLOAD_PLACEHOLDER

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

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "url": self.url}


NO_MEDIA = MediaInput()


@dataclass(frozen=True)
class KeyframeInput:
    """One of aleph2's keyframes as a visitor sets it: an image, when it applies (``seconds`` on the input's
    timeline, or the fraction ``at`` of it), and an optional edit window in whole seconds (``start``, ``end``)."""

    image: MediaInput
    seconds: float | None = None
    at: float | None = None
    start: int | None = None
    end: int | None = None

    def wire(self, uri: str) -> dict[str, Any]:
        """The keyframe as the API takes it, with the image's ``uri``."""
        body: dict[str, Any] = {"uri": uri}
        body |= {"seconds": self.seconds} if self.seconds is not None else {"at": self.at}
        if self.start is not None or self.end is not None:
            body["range"] = {"start_seconds": self.start, "end_seconds": self.end}
        return body

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyframeInput:
        return cls(**{**data, "image": MediaInput(**data["image"])})


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
        return str(self.get("ratio") or "")

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
        """Every media input by name, given or not: a slot's name, or "<slot>.<index>" for each item of a list slot
        (aleph2's keyframes)."""
        found: dict[str, MediaInput] = {}
        for name, slot in self.slots.items():
            if slot.many:
                found |= {f"{name}.{i}": item.image for i, item in enumerate(self.values.get(name) or ())}
            else:
                found[name] = self.values.get(name) or NO_MEDIA
        return found

    def slot(self, media_name: str) -> Slot:
        return self.slots[media_name.split(".")[0]]

    def label_of(self, media_name: str) -> str:
        """What the visitor calls an input ("Keyframe 2" for the second keyframe)."""
        slot_name, _, index = media_name.partition(".")
        return keyframe_label(int(index)) if index else self.slots[slot_name].label

    def kind_of(self, media_name: str) -> str:
        """Whether an input is an image or a video (a character is whichever the form says)."""
        return self.slot(media_name).kind or str(self.get("character_type", "image"))

    def replace(self, **changes: Any) -> Form:
        return Form(self.endpoint, {**self.values, **changes})

    def with_media(self, replaced: Mapping[str, MediaInput]) -> Form:
        """The same form with some media inputs (by ``media()`` names) replaced, e.g. by the copies kept."""
        changes: dict[str, Any] = {}
        for media_name, given in replaced.items():
            slot_name, _, index = media_name.partition(".")
            if index:
                items = list(changes.get(slot_name, self.values.get(slot_name) or ()))
                items[int(index)] = dataclasses.replace(items[int(index)], image=given)
                changes[slot_name] = items
            else:
                changes[slot_name] = given
        return self.replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (media inputs as {"path", "url"}, keyframes as dicts)."""
        return {key: _plain(value) for key, value in self.values.items()}

    @classmethod
    def from_dict(cls, endpoint: Endpoint, data: Mapping[str, Any]) -> Form:
        """The form back from ``to_dict`` data."""
        slots = REQUEST_TYPES[endpoint].SLOTS
        values: dict[str, Any] = {}
        for key, value in data.items():
            slot = slots.get(key)
            if slot is not None and slot.many and isinstance(value, list):
                value = [KeyframeInput.from_dict(item) for item in value]
            elif slot is not None and isinstance(value, dict):
                value = MediaInput(**value)
            values[key] = value
        return cls(endpoint, values)


def _plain(value: Any) -> Any:
    if isinstance(value, (MediaInput, KeyframeInput)):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Prepared:
    """A validated request ready to send, what it will cost, and what was done to the inputs."""

    request: Request
    provider: ProviderSpec
    estimate: Estimate
    form: Form  # as it was prepared (its seed chosen)
    notes: tuple[Message, ...] = ()
    previews: Mapping[str, Image.Image] = field(default_factory=dict)
    # Inputs to upload before the create call, by media name: the request holds UPLOAD_PLACEHOLDER + name for each.
    uploads: Mapping[str, Path] = field(default_factory=dict)

    def with_seed(self, seed: int | None) -> Prepared:
        """The same generation with another seed (one more take of it)."""
        return dataclasses.replace(
            self, form=self.form.replace(seed=seed), request=self.request.model_copy(update={"seed": seed})
        )


# --- checks that need no media work ----------------------------------------------------------------------------

_PLACEHOLDER = {"image": "data:image/png;base64,AAAA", "video": "data:video/mp4;base64,AAAA"}


def check_form(form: Form, *, provider: ProviderSpec) -> None:
    """Every check that needs no media work (raises InvalidInput): uploads stand in as placeholders, links are
    checked as links (the studio never fetches them)."""
    issues = _missing_inputs(form) + _link_issues(form, limits=provider.limits)
    given = {name: _PLACEHOLDER[form.kind_of(name)] for name, value in form.media().items() if value.given}
    # A keyframe without its image is named by _missing_inputs; a placeholder keeps the rest of the body whole.
    given |= {name: _PLACEHOLDER["image"] for name in form.media() if "." in name and name not in given}
    body = REQUEST_TYPES[form.endpoint].body_from(form.values, given)
    if any(form.slots[name].sets_duration for name in given if name in form.slots):
        body.setdefault("duration", 1.0)  # the input's length, known once it is read: a stand-in until then
    try:
        request = parse_request(form.endpoint, body, provider=provider)
    except InvalidInput as err:
        issues += [i for i in err.issues if i.field not in {j.field for j in issues}]
    else:
        issues += check_request(request, provider=provider)
    if issues:
        raise InvalidInput(issues)


def _missing_inputs(form: Form) -> list[FieldIssue]:
    """A required input not given, and any keyframe without its image."""
    media = form.media()
    required = [name for name, slot in form.slots.items() if slot.required and not media[name].given]
    required += [name for name, given in media.items() if "." in name and not given.given]
    return [FieldIssue(form.label_of(n), Msg("form.required", field=Label(form.label_of(n)))) for n in required]


def _link_issues(form: Form, *, limits: InputLimits) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for name, given in form.media().items():
        if given.given and not given.path:
            try:
                media.check_url((given.url or "").strip(), field=form.label_of(name), limits=limits)
            except InvalidInput as err:
                issues += err.issues
    return issues


# --- preparing the media and the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Ready:
    """One input made ready: its URI (an upload's placeholder until it is uploaded) and what the page shows."""

    uri: str
    note: Message = ""
    preview: Image.Image | None = None
    seconds: float | None = None
    fps: float | None = None
    upload: Path | None = None


def prepare_blocking(form: Form, *, provider: ProviderSpec, workdir: Path) -> Prepared:
    """Check the form (cheap checks first), prepare its media, and validate the request. Raises InvalidInput."""
    check_form(form, provider=provider)
    spec = provider.model(form.model, form.endpoint)
    assert spec is not None  # check_form refused any model the provider does not serve here
    ready: dict[str, _Ready] = {}
    issues: list[FieldIssue] = []
    for name, given in form.media().items():
        if not given.given:
            continue
        try:
            ready[name] = _prepare_input(form, name, given, spec=spec, provider=provider, workdir=workdir)
        except InvalidInput as err:
            issues += err.issues
    driving = [r for name, r in ready.items() if r.seconds is not None and form.slot(name).drives_length]
    seconds = driving[0].seconds if driving else None
    issues += _keyframes_after_end(form, seconds)
    if issues:
        raise InvalidInput(issues)
    if seconds is not None and any(form.slot(name).sets_duration for name in ready):
        form = form.replace(duration=round(seconds, 3))  # video_to_audio: a soundtrack as long as the clip
    uris = {name: r.uri for name, r in ready.items()}
    request = parse_request(form.endpoint, REQUEST_TYPES[form.endpoint].body_from(form.values, uris), provider=provider)
    out_s = output_seconds(spec, duration=form.get("duration"), input_seconds=seconds) or 0.0
    fps = driving[0].fps if driving else None
    return Prepared(
        request,
        provider,
        estimate(spec, seconds=out_s, audio=form.get("audio"), fps=fps, options=request.to_wire()),
        form,
        notes=tuple(r.note for r in ready.values() if r.note),
        previews={name: r.preview for name, r in ready.items() if r.preview is not None},
        uploads={name: r.upload for name, r in ready.items() if r.upload is not None},
    )


def _prepare_input(
    form: Form, name: str, given: MediaInput, *, spec: ModelSpec, provider: ProviderSpec, workdir: Path
) -> _Ready:
    label, limits = form.label_of(name), provider.limits
    if not given.path:
        return _Ready(media.check_url((given.url or "").strip(), field=label, limits=limits))
    if form.kind_of(name) == "image":
        image = media.prepare_image(given.path, field=label, ratio=form.ratio or None, fit=form.fit, limits=limits)
        return _Ready(image.data_uri, preview=image.preview)
    rule = spec.video_inputs.get(form.slot(name).wire) or VideoInputRule()
    video = media.prepare_video(given.path, field=label, rule=rule, limits=limits, workdir=workdir)
    note: Message = ""
    if video.trimmed and rule.use_first_seconds:
        note = Msg("form.trimmed", field=Label(label), keep=rule.use_first_seconds, total=video.source.duration_s)
    elif video.rate_capped:
        note = Msg("form.fps_capped", field=Label(label), fps=video.source.fps, cap=rule.max_fps, model=spec.name)
    elif video.reencoded:
        note = Msg("form.reencoded", field=Label(label))
    uri = video.data_uri or UPLOAD_PLACEHOLDER + name
    return _Ready(uri, note=note, seconds=video.info.duration_s, fps=video.info.fps or None, upload=video.upload)


def _keyframes_after_end(form: Form, input_seconds: float | None) -> list[FieldIssue]:
    """A keyframe placed after the input video ends (known only once the video is read)."""
    if input_seconds is None:
        return []
    issues = []
    for index, keyframe in enumerate(form.get("keyframes", ())):
        if keyframe.seconds is not None and keyframe.seconds > input_seconds + 1e-3:
            label = keyframe_label(index)
            message = Msg("form.keyframe_after_end", field=Label(label), at=keyframe.seconds, length=input_seconds)
            issues.append(FieldIssue(label, message))
    return issues
