"""Request models, one per endpoint, checked against the capability table for a provider.

Pydantic checks the shape (types, required keys); the table checks give every rule its own message in words a
designer understands, naming the field, the bad value and what is allowed. The simulator validates incoming
bodies with the same functions, so its 400s match the studio's own checks.

    request = parse_request("image_to_video", body, provider=OPENAI_HK)   # raises InvalidInput
    request.to_wire()                                                    # the exact JSON body to send
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from studio.capabilities import Endpoint, ModelSpec, ProviderSpec
from studio.errors import FieldIssue, InvalidInput
from studio.i18n import Join, Label, Msg
from studio.uris import MediaKind, uri_problem, url_problem

# What a designer calls each wire field.
LABELS: dict[str, str] = {
    "model": "Model",
    "promptImage": "Frames",
    "promptText": "Prompt",
    "ratio": "Ratio",
    "duration": "Duration",
    "seed": "Seed",
    "watermark": "Watermark",
    "notify_hook": "Notify hook",
    "contentModeration": "Public figure threshold",
    "videoUri": "Input video",
    "references": "Reference image",
    "character": "Character",
    "reference": "Reference performance video",
    "bodyControl": "Body control",
    "expressionIntensity": "Expression intensity",
}
FRAME_LABELS = {"first": "First frame", "last": "Last frame"}
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


class _Request(_Wire):
    endpoint: ClassVar[Endpoint]
    model: str
    seed: int | None = None
    ratio: str | None = None
    content_moderation: ContentModeration | None = Field(None, alias="contentModeration")


class ImageToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "image_to_video"
    prompt_image: list[PromptImage] = Field(alias="promptImage")
    prompt_text: str | None = Field(None, alias="promptText")
    duration: int | None = None
    watermark: bool | None = None
    notify_hook: str | None = None

    @field_validator("prompt_image", mode="before")
    @classmethod
    def _string_is_first_frame(cls, value: Any) -> Any:
        # The API accepts a single URI string as the first frame.
        return [{"uri": value, "position": "first"}] if isinstance(value, str) else value

    def frame(self, position: str) -> PromptImage | None:
        return next((f for f in self.prompt_image if f.position == position), None)


class VideoToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "video_to_video"
    video_uri: str = Field(alias="videoUri")
    prompt_text: str | None = Field(None, alias="promptText")
    references: list[ImageReference] | None = None


class CharacterPerformanceRequest(_Request):
    endpoint: ClassVar[Endpoint] = "character_performance"
    character: MediaRef
    reference: MediaRef
    body_control: bool | None = Field(None, alias="bodyControl")
    expression_intensity: int | None = Field(None, alias="expressionIntensity")


Request = ImageToVideoRequest | VideoToVideoRequest | CharacterPerformanceRequest
REQUEST_TYPES: dict[str, type[_Request]] = {
    "image_to_video": ImageToVideoRequest,
    "video_to_video": VideoToVideoRequest,
    "character_performance": CharacterPerformanceRequest,
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
    return FieldIssue("Model", message, ("model",))


def _common_issues(request: Request, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    limits = provider.limits
    if request.seed is not None and not limits.seed_min <= request.seed <= limits.seed_max:
        issues.append(
            FieldIssue(
                "Seed",
                Msg("req.seed_range", seed=request.seed, low=limits.seed_min, high=limits.seed_max),
                ("seed",),
            )
        )
    if request.ratio is None and spec.ratio_required:
        issues.append(
            FieldIssue("Ratio", Msg("req.ratio_required", model=spec.name, choices=_choices(spec.ratios)), ("ratio",))
        )
    elif request.ratio is not None and request.ratio not in spec.ratios:
        issues.append(
            FieldIssue(
                "Ratio",
                Msg("req.ratio_unavailable", ratio=request.ratio, model=spec.name, choices=_choices(spec.ratios)),
                ("ratio",),
            )
        )
    if request.content_moderation is not None and not spec.moderation:
        issues.append(
            FieldIssue("Public figure threshold", Msg("req.no_moderation", model=spec.name), ("contentModeration",))
        )
    return issues


def prompt_issues(text: str | None, *, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    """Problems with a prompt for ``spec``: required, length in UTF-16 units, control characters."""
    cap = provider.limits.prompt_max_utf16
    path = ("promptText",)
    if text is None or text == "":
        if spec.prompt_required:
            return [FieldIssue("Prompt", Msg("req.prompt_required", model=spec.name), path)]
        return []
    if not text.strip():
        return [
            FieldIssue(
                "Prompt", Msg("req.prompt_spaces_required" if spec.prompt_required else "req.prompt_spaces"), path
            )
        ]
    bad = [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t"]
    if bad:
        return [FieldIssue("Prompt", Msg("req.prompt_control", count=len(bad), code=ord(bad[0])), path)]
    length = utf16_len(text)
    if length > cap:
        return [
            FieldIssue(
                "Prompt",
                Msg("req.prompt_too_long", length=length, cap=cap, over=length - cap),
                path,
            )
        ]
    return []


def media_uri_issue(
    uri: str, *, label: str, kind: MediaKind, path: tuple[Any, ...], provider: ProviderSpec
) -> list[FieldIssue]:
    problem = uri_problem(uri, kind=kind, limits=provider.limits)
    return [FieldIssue(label, Msg("req.field_problem", field=Label(label), problem=problem), path)] if problem else []


def _image_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = _frame_issues(request, spec, provider)
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    if request.duration is not None and spec.durations and request.duration not in spec.durations:
        issues.append(
            FieldIssue(
                "Duration",
                Msg(
                    "req.duration_unavailable",
                    duration=request.duration,
                    model=spec.name,
                    provider=Label(provider.label),
                    choices=_choices(spec.durations),
                ),
                ("duration",),
            )
        )
    issues += _extra_field_issues(request, spec, provider)
    return issues


def _frame_issues(request: ImageToVideoRequest, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    positions = [f.position for f in request.prompt_image]
    if "first" not in positions:
        issues.append(FieldIssue("First frame", Msg("req.first_frame_required"), ("promptImage",)))
    if len(set(positions)) != len(positions):
        issues.append(FieldIssue("Frames", Msg("req.frame_once"), ("promptImage",)))
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


def _extra_field_issues(request: ImageToVideoRequest, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for wire, value in (("watermark", request.watermark), ("notify_hook", request.notify_hook)):
        if value is not None and wire not in spec.extra_fields:
            label = LABELS[wire]
            issues.append(
                FieldIssue(
                    label, Msg("req.openai_hk_only", field=Label(label), provider=Label(provider.label)), (wire,)
                )
            )
    if request.notify_hook is not None and "notify_hook" in spec.extra_fields:
        problem = url_problem(request.notify_hook, limits=provider.limits)
        if problem:
            issues.append(
                FieldIssue(
                    "Notify hook",
                    Msg("req.field_problem", field=Label("Notify hook"), problem=problem),
                    ("notify_hook",),
                )
            )
    return issues


def _video_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = media_uri_issue(
        request.video_uri, label="Input video", kind="video", path=("videoUri",), provider=provider
    )
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    references = request.references or []
    if len(references) > spec.max_references:
        issues.append(
            FieldIssue(
                "Reference image",
                Msg("req.too_many_references", model=spec.name, most=spec.max_references, given=len(references)),
                ("references",),
            )
        )
    for index, ref in enumerate(references):
        issues += media_uri_issue(
            ref.uri, label="Reference image", kind="image", path=("references", index, "uri"), provider=provider
        )
    return issues


def _character_performance_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    if request.character.type not in spec.character_types:
        issues.append(
            FieldIssue(
                "Character", Msg("req.character_type", choices=_choices(spec.character_types)), ("character", "type")
            )
        )
    else:
        issues += media_uri_issue(
            request.character.uri,
            label="Character",
            kind=request.character.type,
            path=("character", "uri"),
            provider=provider,
        )
    if request.reference.type != "video":
        issues.append(FieldIssue("Reference performance video", Msg("req.reference_video"), ("reference", "type")))
    else:
        issues += media_uri_issue(
            request.reference.uri,
            label="Reference performance video",
            kind="video",
            path=("reference", "uri"),
            provider=provider,
        )
    if request.expression_intensity is not None and spec.expression_intensity:
        low, high, _ = spec.expression_intensity
        if not low <= request.expression_intensity <= high:
            issues.append(
                FieldIssue(
                    "Expression intensity",
                    Msg("req.intensity_range", value=request.expression_intensity, low=low, high=high),
                    ("expressionIntensity",),
                )
            )
    return issues


_ENDPOINT_CHECKS: dict[str, Callable[[Any, ModelSpec, ProviderSpec], list[FieldIssue]]] = {
    "image_to_video": _image_to_video_issues,
    "video_to_video": _video_to_video_issues,
    "character_performance": _character_performance_issues,
}
