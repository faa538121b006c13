"""Request models, one per endpoint, checked against the capability table for a provider.

Pydantic checks the shape (types, required keys); the table checks give every rule its own message in words a
designer understands, naming the field, the bad value and what is allowed. The simulator validates incoming
bodies with the same functions, so its 400s match the studio's own checks.

    request = parse_request("image_to_video", body, provider=OPENAI_HK)   # raises InvalidInput
    request.to_wire()                                                    # the exact JSON body to send
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from studio.capabilities import OPTIONS, PROVIDERS, Endpoint, ModelSpec, ProviderSpec
from studio.errors import FieldIssue, InvalidInput
from studio.i18n import Join, Label, Message, Msg
from studio.uris import MediaKind, uri_problem, url_problem

ENDPOINT_LABELS: dict[str, str] = {
    "image_to_video": "Image to Video",
    "video_to_video": "Video to Video",
    "character_performance": "Character Performance",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit the API counts prompts in (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _choices(values: Any) -> Join:
    return Join([str(v) for v in values])


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body exactly as the API expects it (fields left unset are omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class PromptImage(_Wire):
    uri: str
    position: Literal["first", "last"] = "first"


class ContentModeration(_Wire):
    public_figure_threshold: Literal["auto", "low"] = Field("auto", alias="publicFigureThreshold")


class ImageReference(_Wire):
    type: Literal["image"] = "image"
    uri: str


class MediaRef(_Wire):
    type: Literal["image", "video"]
    uri: str


@dataclass(frozen=True)
class Slot:
    """One media input of a form: what the visitor calls it, what kind of file it is, which of the table's
    ``video_inputs`` rules it follows, and whether it must be given. ``kind`` None: the form's
    ``character_type`` says (a character is an image or a video)."""

    label: str
    kind: MediaKind | None
    wire: str
    required: bool = False
    drives_length: bool = False  # the output lasts as long as this input (the cost follows it)


class _Request(_Wire):
    endpoint: ClassVar[Endpoint]
    SLOTS: ClassVar[Mapping[str, Slot]] = {}  # the form's media inputs, by the form's name for them
    model: str = Field(title="Model")
    seed: int | None = Field(None, title="Seed")
    ratio: str | None = Field(None, title="Ratio")
    content_moderation: ContentModeration | None = Field(
        None, alias="contentModeration", title="Public figure threshold"
    )

    @classmethod
    def body_from(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        """The wire body for a form: its values by these fields' Python names (None is left out) and the URIs its
        media inputs became. Nested shapes are each request's own (``_media_body``)."""
        body = {
            (field.alias or name): values[name]
            for name, field in cls.model_fields.items()
            if name not in cls.SLOTS and values.get(name) is not None
        }
        if values.get("threshold") is not None:
            body["contentModeration"] = {"publicFigureThreshold": values["threshold"]}
        return body | cls._media_body(values, uris)

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        return {}


class ImageToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "image_to_video"
    SLOTS: ClassVar[Mapping[str, Slot]] = {
        "first": Slot("First frame", "image", "promptImage", required=True),
        "last": Slot("Last frame", "image", "promptImage"),
    }
    prompt_image: list[PromptImage] = Field(alias="promptImage", title="Frames")
    prompt_text: str | None = Field(None, alias="promptText", title="Prompt")
    duration: int | None = Field(None, title="Duration")
    watermark: bool | None = Field(None, title="Watermark")
    notify_hook: str | None = Field(None, title="Notify hook")

    @field_validator("prompt_image", mode="before")
    @classmethod
    def _string_is_first_frame(cls, value: Any) -> Any:
        # The API accepts a single URI string as the first frame.
        return [{"uri": value, "position": "first"}] if isinstance(value, str) else value

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        return {"promptImage": [{"uri": uris[p], "position": p} for p in ("first", "last") if p in uris]}

    def frame(self, position: str) -> PromptImage | None:
        return next((f for f in self.prompt_image if f.position == position), None)


class VideoToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "video_to_video"
    SLOTS: ClassVar[Mapping[str, Slot]] = {
        "video": Slot("Input video", "video", "videoUri", required=True, drives_length=True),
        "reference": Slot("Reference image", "image", "references"),
    }
    video_uri: str = Field(alias="videoUri", title="Input video")
    prompt_text: str | None = Field(None, alias="promptText", title="Prompt")
    references: list[ImageReference] | None = Field(None, title="Reference image")

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        references = [{"type": "image", "uri": uris["reference"]}] if "reference" in uris else None
        return {"videoUri": uris.get("video", "")} | ({"references": references} if references else {})


class CharacterPerformanceRequest(_Request):
    endpoint: ClassVar[Endpoint] = "character_performance"
    SLOTS: ClassVar[Mapping[str, Slot]] = {
        "character": Slot("Character", None, "character", required=True),
        "reference": Slot("Reference performance video", "video", "reference", required=True, drives_length=True),
    }
    character: MediaRef = Field(title="Character")
    reference: MediaRef = Field(title="Reference performance video")
    body_control: bool | None = Field(None, alias="bodyControl", title="Body control")
    expression_intensity: int | None = Field(None, alias="expressionIntensity", title="Expression intensity")

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        return {
            "character": {"type": values.get("character_type", "image"), "uri": uris.get("character", "")},
            "reference": {"type": "video", "uri": uris.get("reference", "")},
        }


Request = ImageToVideoRequest | VideoToVideoRequest | CharacterPerformanceRequest
FRAME_LABELS = {position: slot.label for position, slot in ImageToVideoRequest.SLOTS.items()}
REQUEST_TYPES: dict[str, type[_Request]] = {
    "image_to_video": ImageToVideoRequest,
    "video_to_video": VideoToVideoRequest,
    "character_performance": CharacterPerformanceRequest,
}
# What a designer calls each wire field: each request field's title.
LABELS: dict[str, str] = {
    field.alias or name: field.title or name
    for request in REQUEST_TYPES.values()
    for name, field in request.model_fields.items()
}


def parse_request(endpoint: str, body: Any, *, provider: ProviderSpec) -> Request:
    """Validate a wire body (or the same fields by Python name) for ``endpoint`` on ``provider``.

    Raises InvalidInput listing every problem, each naming its field and what is allowed.
    """
    try:
        cls = REQUEST_TYPES[endpoint]
    except KeyError:
        raise InvalidInput(FieldIssue("Endpoint", Msg("req.unknown_endpoint", endpoint=endpoint))) from None
    if not isinstance(body, dict):
        raise InvalidInput(FieldIssue("Request", Msg("req.not_object")))
    try:
        request = cls.model_validate(body)
    except ValidationError as err:
        raise InvalidInput([_shape_issue(e) for e in err.errors()]) from None
    issues = check_request(request, provider=provider)  # type: ignore[arg-type]
    if issues:
        raise InvalidInput(issues)
    return request  # type: ignore[return-value]


# --- shape errors from pydantic, in plain words ------------------------------------------------------------


def _label_for(loc: tuple[Any, ...]) -> str:
    head = str(loc[0]) if loc else "Request"
    return LABELS.get(head, head)


def _shape_issue(error: Any) -> FieldIssue:
    loc = tuple(error["loc"])
    label = _label_for(loc)
    kind = error["type"]
    value = error.get("input")
    name = Label(label)
    if kind == "missing":
        message = Msg("req.required", field=name)
    elif kind == "extra_forbidden":
        message = Msg("req.not_a_field", name=str(loc[-1]))
    elif kind.startswith("int_") or kind == "int_type":
        message = Msg("req.whole_number", field=name, value=value)
    elif kind.startswith("bool"):
        message = Msg("req.true_or_false", field=name, value=value)
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = Msg("req.not_allowed", field=name, value=value, expected=str(expected))
    else:
        message = Msg("req.shape", field=name, detail=str(error["msg"]))
    return FieldIssue(field=label, message=message, path=loc)


# --- rules from the table ------------------------------------------------------------------------------


def check_request(request: Request, *, provider: ProviderSpec) -> list[FieldIssue]:
    """Every way ``request`` breaks the table's rules for ``provider`` (empty when it is fine)."""
    spec = provider.model(request.model)
    if spec is None or spec.endpoint != request.endpoint:
        return [_unknown_model(request, provider)]
    issues = _common_issues(request, spec, provider)
    issues += _ENDPOINT_CHECKS[request.endpoint](request, spec, provider)
    return issues


def _unknown_model(request: Request, provider: ProviderSpec) -> FieldIssue:
    served = [m.name for m in provider.models_for(request.endpoint)]
    tab = Label(ENDPOINT_LABELS[request.endpoint])
    if not served:
        message = Msg("req.provider_lacks_tab", provider=Label(provider.label), tab=tab)
    else:
        message = Msg(
            "req.model_unavailable",
            model=request.model,
            tab=tab,
            provider=Label(provider.label),
            choices=_choices(served),
        )
    return _issue(message, "model")


def _common_issues(request: Request, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    limits = provider.limits
    if request.seed is not None and not limits.seed_min <= request.seed <= limits.seed_max:
        issues.append(
            _issue(Msg("req.seed_range", seed=request.seed, low=limits.seed_min, high=limits.seed_max), "seed")
        )
    if request.ratio is None and spec.ratio_required:
        issues.append(_issue(Msg("req.ratio_required", model=spec.name, choices=_choices(spec.ratios)), "ratio"))
    elif request.ratio is not None and request.ratio not in spec.ratios:
        issues.append(
            _issue(
                Msg("req.ratio_unavailable", ratio=request.ratio, model=spec.name, choices=_choices(spec.ratios)),
                "ratio",
            )
        )
    return issues + _option_issues(request, spec, provider)


def _option_issues(request: Request, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    """An optional field set for a model that does not take it (``ModelSpec.options``), named with where it is."""
    issues: list[FieldIssue] = []
    for name, field in type(request).model_fields.items():
        wire = field.alias or name
        if wire not in OPTIONS or getattr(request, name) is None or wire in spec.options:
            continue
        label = Label(LABELS.get(wire, wire))
        elsewhere = [
            Label(p.label)
            for p in PROVIDERS.values()
            if p.name != "simulator" and wire in getattr(p.model(spec.name), "options", ())
        ]
        message = (
            Msg("req.option_elsewhere", field=label, providers=Join(elsewhere, "or"), provider=Label(provider.label))
            if elsewhere
            else Msg("req.option_not_taken", model=spec.name, field=label)
        )
        issues.append(FieldIssue(label.name, message, (wire,)))
    return issues


def prompt_issues(text: str | None, *, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    """Problems with a prompt for ``spec``: required, length in UTF-16 units, control characters."""
    cap = provider.limits.prompt_max_utf16
    path = ("promptText",)
    if text is None or text == "":
        if spec.prompt_required:
            return [_issue(Msg("req.prompt_required", model=spec.name), *path)]
        return []
    if not text.strip():
        return [_issue(Msg("req.prompt_spaces_required" if spec.prompt_required else "req.prompt_spaces"), *path)]
    bad = [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t"]
    if bad:
        return [_issue(Msg("req.prompt_control", count=len(bad), code=ord(bad[0])), *path)]
    length = utf16_len(text)
    if length > cap:
        return [_issue(Msg("req.prompt_too_long", length=length, cap=cap, over=length - cap), *path)]
    return []


def media_uri_issue(
    uri: str, *, kind: MediaKind, path: tuple[Any, ...], provider: ProviderSpec, label: str | None = None
) -> list[FieldIssue]:
    """A problem with an input's URI, named as its field (``label``, else the field ``path`` starts with)."""
    problem = uri_problem(uri, kind=kind, limits=provider.limits)
    name = label or LABELS[path[0]]
    return [FieldIssue(name, Msg("req.field_problem", field=Label(name), problem=problem), path)] if problem else []


def _issue(message: Message, *path: str | int) -> FieldIssue:
    """An issue with the field ``path`` starts with, named as the designer knows it (its title)."""
    return FieldIssue(LABELS[str(path[0])], message, path)


def _image_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = _frame_issues(request, spec, provider)
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    if request.duration is not None and spec.durations and request.duration not in spec.durations:
        issues.append(
            _issue(
                Msg(
                    "req.duration_unavailable",
                    duration=request.duration,
                    model=spec.name,
                    provider=Label(provider.label),
                    choices=_choices(spec.durations),
                ),
                "duration",
            )
        )
    issues += _notify_hook_issues(request, provider)
    return issues


def _frame_issues(request: ImageToVideoRequest, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    positions = [f.position for f in request.prompt_image]
    if "first" not in positions:
        issues.append(FieldIssue("First frame", Msg("req.first_frame_required"), ("promptImage",)))
    if len(set(positions)) != len(positions):
        issues.append(_issue(Msg("req.frame_once"), "promptImage"))
    for index, frame in enumerate(request.prompt_image):
        label = FRAME_LABELS[frame.position]
        if frame.position not in spec.positions:
            issues.append(FieldIssue(label, _last_frame_message(provider), ("promptImage", index, "position")))
            continue
        issues += media_uri_issue(
            frame.uri, label=label, kind="image", path=("promptImage", index, "uri"), provider=provider
        )
    return issues


def _last_frame_message(provider: ProviderSpec) -> Msg:
    able = [m.name for m in provider.models_for("image_to_video") if m.supports_last_frame]
    if not able:
        return Msg("req.no_last_frame_anywhere", provider=Label(provider.label))
    return Msg("req.last_frame_only", models=Join(able, "and"))


def _notify_hook_issues(request: ImageToVideoRequest, provider: ProviderSpec) -> list[FieldIssue]:
    problem = url_problem(request.notify_hook, limits=provider.limits) if request.notify_hook is not None else None
    if problem is None:
        return []
    return [_issue(Msg("req.field_problem", field=Label("Notify hook"), problem=problem), "notify_hook")]


def _video_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = media_uri_issue(request.video_uri, kind="video", path=("videoUri",), provider=provider)
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    references = request.references or []
    if len(references) > spec.max_references:
        issues.append(
            _issue(
                Msg("req.too_many_references", model=spec.name, most=spec.max_references, given=len(references)),
                "references",
            )
        )
    for index, ref in enumerate(references):
        issues += media_uri_issue(ref.uri, kind="image", path=("references", index, "uri"), provider=provider)
    return issues


def _character_performance_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    if request.character.type not in spec.character_types:
        issues.append(_issue(Msg("req.character_type", choices=_choices(spec.character_types)), "character", "type"))
    else:
        issues += media_uri_issue(
            request.character.uri,
            kind=request.character.type,
            path=("character", "uri"),
            provider=provider,
        )
    if request.reference.type != "video":
        issues.append(_issue(Msg("req.reference_video"), "reference", "type"))
    else:
        issues += media_uri_issue(
            request.reference.uri,
            kind="video",
            path=("reference", "uri"),
            provider=provider,
        )
    if request.expression_intensity is not None and spec.expression_intensity:
        low, high, _ = spec.expression_intensity
        if not low <= request.expression_intensity <= high:
            issues.append(
                _issue(
                    Msg("req.intensity_range", value=request.expression_intensity, low=low, high=high),
                    "expressionIntensity",
                )
            )
    return issues


_ENDPOINT_CHECKS: dict[str, Callable[[Any, ModelSpec, ProviderSpec], list[FieldIssue]]] = {
    "image_to_video": _image_to_video_issues,
    "video_to_video": _video_to_video_issues,
    "character_performance": _character_performance_issues,
}
