"""The forms the three tabs fill in, and how a form becomes a validated request.

A form holds what the visitor chose: uploads as file paths, links as text. ``prepare`` checks every rule that
needs no media work first (so a wrong ratio is reported at once, not after processing a 24-megapixel photo),
then prepares the media off the event loop and validates the final request against the capability table.
Forms round-trip through ``form_to_dict``/``form_from_dict`` for the history store ("Reuse settings").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from studio import media
from studio.capabilities import InputLimits, ModelSpec, ProviderSpec, VideoInputRule
from studio.errors import FieldIssue, InvalidInput
from studio.i18n import Label, Message, Msg
from studio.pricing import Estimate, estimate, output_seconds
from studio.requests import Request, check_request, parse_request

Fit = Literal["crop", "pad", "as-is"]


@dataclass(frozen=True)
class MediaInput:
    """An input given as an uploaded file or an https link (the upload wins when both are given)."""

    path: str | None = None
    url: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.path) or bool((self.url or "").strip())


@dataclass(frozen=True)
class ImageToVideoForm:
    model: str
    ratio: str
    first: MediaInput
    last: MediaInput = MediaInput()
    prompt: str = ""
    duration: int | None = None
    seed: int | None = None  # None: a random seed, reported back
    fit: Fit = "crop"
    watermark: bool | None = None
    notify_hook: str | None = None


@dataclass(frozen=True)
class VideoToVideoForm:
    model: str
    ratio: str
    video: MediaInput
    prompt: str = ""
    reference: MediaInput = MediaInput()
    seed: int | None = None
    threshold: str = "auto"
    fit: Fit = "crop"


@dataclass(frozen=True)
class CharacterForm:
    model: str
    ratio: str
    character: MediaInput
    reference: MediaInput
    character_type: Literal["image", "video"] = "image"
    body_control: bool = True
    intensity: int = 3
    seed: int | None = None
    threshold: str = "auto"
    fit: Fit = "crop"


Form = ImageToVideoForm | VideoToVideoForm | CharacterForm
ENDPOINT_OF: dict[type, str] = {
    ImageToVideoForm: "image_to_video",
    VideoToVideoForm: "video_to_video",
    CharacterForm: "character_performance",
}


@dataclass(frozen=True)
class Prepared:
    """A validated request ready to send, what it will cost, and what was done to the inputs."""

    request: Request
    provider: ProviderSpec
    estimate: Estimate
    notes: tuple[str, ...] = ()
    previews: Mapping[str, Image.Image] = field(default_factory=dict)


# --- building the request from a form ------------------------------------------------------------------------

_PLACEHOLDER = {
    "image": "data:image/png;base64,AAAA",
    "video": "data:video/mp4;base64,AAAA",
}


def _quick_check(form: Form, *, endpoint: str, provider: ProviderSpec) -> None:
    """Validate everything but the media, with placeholders for uploads, so errors come before slow work."""
    issues = _missing_inputs(form) + _link_issues(form, limits=provider.limits)
    # Uploads and typed links stand in as placeholders: links were checked as links just above (a data: URI is
    # not a link), uploads are checked when their media is prepared.
    body = _body(form, {name: _PLACEHOLDER[kind] for name, (kind, given) in _inputs(form).items() if given.given})
    try:
        request = parse_request(endpoint, body, provider=provider)
    except InvalidInput as err:
        issues += [i for i in err.issues if i.field not in {j.field for j in issues}]
    else:
        issues += check_request(request, provider=provider)
    if issues:
        raise InvalidInput(issues)


def _link_issues(form: Form, *, limits: InputLimits) -> list[FieldIssue]:
    """Typed links checked the way they will be sent: https to a named host (the studio never fetches them)."""
    issues: list[FieldIssue] = []
    for name, (kind, given) in _inputs(form).items():
        if given.given and not given.path:
            label = "Reference image" if (name == "reference" and kind == "image") else _LABELS[name]
            try:
                media.check_url((given.url or "").strip(), field=label, limits=limits)
            except InvalidInput as err:
                issues += err.issues
    return issues


def _missing_inputs(form: Form) -> list[FieldIssue]:
    required = {
        ImageToVideoForm: ("first", "First frame"),
        VideoToVideoForm: ("video", "Input video"),
    }
    issues: list[FieldIssue] = []
    if isinstance(form, CharacterForm):
        for name, label in (("character", "Character"), ("reference", "Reference performance video")):
            if not getattr(form, name).given:
                issues.append(FieldIssue(label, Msg("form.required", field=Label(label))))
        return issues
    name, label = required[type(form)]
    if not getattr(form, name).given:
        issues.append(FieldIssue(label, Msg("form.required", field=Label(label))))
    return issues


def _inputs(form: Form) -> dict[str, tuple[str, MediaInput]]:
    """The media inputs of a form: name -> (kind, input)."""
    if isinstance(form, ImageToVideoForm):
        return {"first": ("image", form.first), "last": ("image", form.last)}
    if isinstance(form, VideoToVideoForm):
        return {"video": ("video", form.video), "reference": ("image", form.reference)}
    return {"character": (form.character_type, form.character), "reference": ("video", form.reference)}


def _body(form: Form, uris: Mapping[str, str]) -> dict[str, object]:
    """The wire body for a form, given each input's URI."""
    prompt = form.prompt if isinstance(form, (ImageToVideoForm, VideoToVideoForm)) else ""
    body: dict[str, object] = {"model": form.model, "ratio": form.ratio, "seed": form.seed}
    if prompt:
        body["promptText"] = prompt
    if isinstance(form, ImageToVideoForm):
        frames = [{"uri": uris[p], "position": p} for p in ("first", "last") if p in uris]
        body |= {"promptImage": frames, "duration": form.duration}
        body |= {
            k: v
            for k, v in (("watermark", form.watermark), ("notify_hook", (form.notify_hook or "").strip() or None))
            if v is not None
        }
    elif isinstance(form, VideoToVideoForm):
        body["videoUri"] = uris.get("video", "")
        if "reference" in uris:
            body["references"] = [{"type": "image", "uri": uris["reference"]}]
        body["contentModeration"] = {"publicFigureThreshold": form.threshold}
    else:
        body |= {
            "character": {"type": form.character_type, "uri": uris.get("character", "")},
            "reference": {"type": "video", "uri": uris.get("reference", "")},
            "bodyControl": form.body_control,
            "expressionIntensity": form.intensity,
            "contentModeration": {"publicFigureThreshold": form.threshold},
        }
    return {k: v for k, v in body.items() if v is not None}


_LABELS = {
    "first": "First frame",
    "last": "Last frame",
    "video": "Input video",
    "reference": "Reference performance video",
    "character": "Character",
}


def _prepare_blocking(form: Form, endpoint: str, provider: ProviderSpec, workdir: Path) -> Prepared:
    spec = provider.models[form.model]
    uris: dict[str, str] = {}
    notes: list[str] = []
    previews: dict[str, Image.Image] = {}
    seconds: float | None = None
    issues: list[FieldIssue] = []
    for name, (kind, given) in _inputs(form).items():
        if not given.given:
            continue
        label = "Reference image" if (name == "reference" and kind == "image") else _LABELS[name]
        try:
            uris[name], note, preview, length = _prepare_input(
                given,
                kind=kind,
                label=label,
                wire=_wire_name(endpoint, name),
                form=form,
                spec=spec,
                provider=provider,
                workdir=workdir,
            )
        except InvalidInput as err:
            issues += err.issues
            continue
        notes += [note] if note else []
        if preview is not None:
            previews[name] = preview
        if length is not None and name in ("video", "reference"):
            seconds = length
    if issues:
        raise InvalidInput(issues)
    request = parse_request(endpoint, _body(form, uris), provider=provider)
    duration = form.duration if isinstance(form, ImageToVideoForm) else None
    out_s = output_seconds(spec, duration=duration, input_seconds=seconds) or 0.0
    return Prepared(request, provider, estimate(spec, seconds=out_s), tuple(notes), previews)


def _wire_name(endpoint: str, name: str) -> str:
    if endpoint == "video_to_video":
        return {"video": "videoUri", "reference": "references"}[name]
    return name


def _prepare_input(
    given: MediaInput,
    *,
    kind: str,
    label: str,
    wire: str,
    form: Form,
    spec: ModelSpec,
    provider: ProviderSpec,
    workdir: Path,
) -> tuple[str, Message, Image.Image | None, float | None]:
    """(uri, note, preview, seconds) for one input."""
    limits = provider.limits
    if not given.path:
        return media.check_url((given.url or "").strip(), field=label, limits=limits), "", None, None
    if kind == "image":
        image = media.prepare_image(given.path, field=label, ratio=form.ratio, fit=form.fit, limits=limits)
        return image.data_uri, "", image.preview, None
    rule = spec.video_inputs.get(wire) or VideoInputRule()
    video = media.prepare_video(given.path, field=label, rule=rule, limits=limits, workdir=workdir)
    note: Message = ""
    if video.trimmed and rule.use_first_seconds:
        note = Msg("form.trimmed", field=Label(label), keep=rule.use_first_seconds, total=video.source.duration_s)
    elif video.reencoded:
        note = Msg("form.reencoded", field=Label(label))
    return video.data_uri, note, None, video.info.duration_s


def check_form(form: Form, *, provider: ProviderSpec) -> None:
    """Every check that needs no media work (raises InvalidInput)."""
    _quick_check(form, endpoint=ENDPOINT_OF[type(form)], provider=provider)


def prepare_blocking(form: Form, *, provider: ProviderSpec, workdir: Path) -> Prepared:
    """Check the form (cheap checks first), prepare its media, and validate the request. Raises InvalidInput."""
    endpoint = ENDPOINT_OF[type(form)]
    _quick_check(form, endpoint=endpoint, provider=provider)
    return _prepare_blocking(form, endpoint, provider, workdir)


# --- forms in the history store ------------------------------------------------------------------------------

FORM_TYPES: dict[str, type] = {endpoint: cls for cls, endpoint in ENDPOINT_OF.items()}


def form_to_dict(form: Form) -> dict[str, Any]:
    """A form as plain JSON-able data (media inputs as {"path", "url"})."""
    return asdict(form)


def form_from_dict(endpoint: str, data: Mapping[str, Any]) -> Form:
    """The form of ``endpoint`` back from ``form_to_dict`` data; unknown keys are ignored."""
    cls = FORM_TYPES[endpoint]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        values[f.name] = MediaInput(**value) if isinstance(value, dict) else value
    return cls(**values)  # type: ignore[no-any-return]


def media_inputs(form: Form) -> dict[str, MediaInput]:
    """The form's media inputs by name (given or not)."""
    return {name: given for name, (_, given) in _inputs(form).items()}


def with_media(form: Form, replacements: Mapping[str, MediaInput]) -> Form:
    """The same form with some media inputs replaced (e.g. by the copies kept in the data dir)."""
    return replace(form, **replacements)  # type: ignore[arg-type]
