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
    "text_to_video": "Text to Video",
    "video_to_video": "Video to Video",
    "character_performance": "Character Performance",
    "video_upscale": "Finish",
    "video_to_audio": "Finish",
    "storyboard": "Storyboard export",  # not an API endpoint: what History calls a storyboard's export
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


class EditWindow(_Wire):
    """A keyframe's edit window, in whole seconds of the input (the end is exclusive)."""

    start_seconds: int  # 0 or later, and before the end: checked with the keyframe, naming it
    end_seconds: int

    def contains(self, seconds: float) -> bool:
        return self.start_seconds <= seconds < self.end_seconds


class Keyframe(_Wire):
    """aleph2's timed guidance image: at ``seconds`` on the input's timeline, or at the fraction ``at`` of it."""

    uri: str
    seconds: float | None = None
    at: float | None = None
    range: EditWindow | None = None


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
    many: bool = False  # a list of inputs (aleph2's keyframes), each named "<slot>.<index>" in a form
    sets_duration: bool = False  # the request's ``duration`` is this input's length (video_to_audio)


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
    audio: bool | None = Field(None, title="Audio")
    negative_prompt: str | None = Field(None, alias="negativePrompt", title="Negative prompt")
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


class TextToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "text_to_video"
    prompt_text: str | None = Field(None, alias="promptText", title="Prompt")
    duration: int | None = Field(None, title="Duration")
    audio: bool | None = Field(None, title="Audio")
    negative_prompt: str | None = Field(None, alias="negativePrompt", title="Negative prompt")


class VideoToVideoRequest(_Request):
    endpoint: ClassVar[Endpoint] = "video_to_video"
    SLOTS: ClassVar[Mapping[str, Slot]] = {
        "video": Slot("Input video", "video", "videoUri", required=True, drives_length=True),
        "reference": Slot("Reference image", "image", "references"),
        "keyframes": Slot("Keyframe", "image", "keyframes", many=True),
    }
    video_uri: str = Field(alias="videoUri", title="Input video")
    prompt_text: str | None = Field(None, alias="promptText", title="Prompt")
    references: list[ImageReference] | None = Field(None, title="Reference image")
    keyframes: list[Keyframe] | None = Field(None, title="Keyframes")
    target_aspect_ratio: str | None = Field(None, alias="targetAspectRatio", title="Outpaint to")

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = {"videoUri": uris.get("video", "")}
        if "reference" in uris:
            body["references"] = [{"type": "image", "uri": uris["reference"]}]
        keyframes = [k.wire(uris[f"keyframes.{i}"]) for i, k in enumerate(values.get("keyframes") or ())]
        return body | ({"keyframes": keyframes} if keyframes else {})


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


_FINISHED_CLIP = Slot("Input video", "video", "videoUri", required=True, drives_length=True)


class VideoUpscaleRequest(_Request):
    """Both passes of ``/v1/video_upscale``: magnific_video_upscaler_creative (resolution and its finish settings)
    and enhance_frame_rate (targetFramerate). Which fields a model takes is the table's ``options``."""

    endpoint: ClassVar[Endpoint] = "video_upscale"
    SLOTS: ClassVar[Mapping[str, Slot]] = {"video": _FINISHED_CLIP}
    video_uri: str = Field(alias="videoUri", title="Input video")
    resolution: str | None = Field(None, title="Resolution")
    creativity: int | None = Field(None, title="Creativity")
    sharpen: int | None = Field(None, title="Sharpen")
    smart_grain: int | None = Field(None, alias="smartGrain", title="Smart grain")
    flavor: str | None = Field(None, title="Flavor")
    fps_boost: bool | None = Field(None, alias="fpsBoost", title="FPS boost")
    target_framerate: str | None = Field(None, alias="targetFramerate", title="Target frame rate")

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        return {"videoUri": uris.get("video", "")}


class VideoToAudioRequest(_Request):
    """``/v1/video_to_audio``: a soundtrack for a clip (mirelo_sfx_2_0). The output is an audio file."""

    endpoint: ClassVar[Endpoint] = "video_to_audio"
    SLOTS: ClassVar[Mapping[str, Slot]] = {
        "video": Slot("Input video", "video", "videoUri", required=True, drives_length=True, sets_duration=True)
    }
    video_uri: str = Field(alias="videoUri", title="Input video")
    duration: float = Field(title="Duration")
    prompt_text: str | None = Field(None, alias="promptText", title="Prompt")
    negative_prompt: str | None = Field(None, alias="negativePrompt", title="Negative prompt")
    format: str | None = Field(None, title="Audio format")
    num_variants: int | None = Field(None, alias="numVariants", title="Variants")
    preserve_speech: bool | None = Field(None, alias="preserveSpeech", title="Preserve speech")

    @classmethod
    def _media_body(cls, values: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
        return {"videoUri": uris.get("video", "")}


Request = (
    ImageToVideoRequest
    | TextToVideoRequest
    | VideoToVideoRequest
    | CharacterPerformanceRequest
    | VideoUpscaleRequest
    | VideoToAudioRequest
)
KEYFRAME_MAX_SECONDS = 30.0  # aleph2: a keyframe's time on the input's timeline (the input is 30 s at most)
FRAME_LABELS = {position: slot.label for position, slot in ImageToVideoRequest.SLOTS.items()}
REQUEST_TYPES: dict[str, type[_Request]] = {
    "image_to_video": ImageToVideoRequest,
    "text_to_video": TextToVideoRequest,
    "video_to_video": VideoToVideoRequest,
    "character_performance": CharacterPerformanceRequest,
    "video_upscale": VideoUpscaleRequest,
    "video_to_audio": VideoToAudioRequest,
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
    if head == "keyframes" and len(loc) > 1 and isinstance(loc[1], int):
        return keyframe_label(loc[1])
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
    spec = provider.model(request.model, request.endpoint)
    if spec is None:
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
    if request.seed is not None and not spec.seed:
        issues.append(_issue(Msg("req.option_not_taken", model=spec.name, field=Label("Seed")), "seed"))
    elif request.seed is not None and not limits.seed_min <= request.seed <= limits.seed_max:
        issues.append(
            _issue(Msg("req.seed_range", seed=request.seed, low=limits.seed_min, high=limits.seed_max), "seed")
        )
    if request.ratio is None and spec.ratio_required:
        issues.append(_issue(Msg("req.ratio_required", model=spec.name, choices=_choices(spec.ratios)), "ratio"))
    elif request.ratio is not None and not spec.ratios:
        issues.append(_issue(Msg("req.no_ratio", model=spec.name), "ratio"))
    elif request.ratio is not None and request.ratio not in spec.ratios:
        issues.append(
            _issue(
                Msg("req.ratio_unavailable", ratio=request.ratio, model=spec.name, choices=_choices(spec.ratios)),
                "ratio",
            )
        )
    issues += _duration_issues(request, spec, provider) + _option_issues(request, spec, provider)
    return issues + _option_value_issues(request, spec)


def _duration_issues(request: Request, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    duration = getattr(request, "duration", None)
    if duration is None:
        if spec.duration_required and spec.durations:
            return [_issue(Msg("req.duration_required", model=spec.name, choices=_choices(spec.durations)), "duration")]
        return []
    if spec.durations and duration not in spec.durations:
        message = Msg(
            "req.duration_unavailable",
            duration=duration,
            model=spec.name,
            provider=Label(provider.label),
            choices=_choices(spec.durations),
        )
        return [_issue(message, "duration")]
    return []


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
            if not p.simulated and wire in getattr(p.model(spec.name, spec.endpoint), "options", ())
        ]
        message = (
            Msg("req.option_elsewhere", field=label, providers=Join(elsewhere, "or"), provider=Label(provider.label))
            if elsewhere
            else Msg("req.option_not_taken", model=spec.name, field=label)
        )
        issues.append(FieldIssue(label.name, message, (wire,)))
    return issues


def _option_value_issues(request: Request, spec: ModelSpec) -> list[FieldIssue]:
    """An option the model takes set to a value it does not take (``ModelSpec.option_rules``), or left out when it
    must be sent."""
    wired = request.to_wire()
    issues: list[FieldIssue] = []
    for wire, rule in spec.option_rules.items():
        value, field = wired.get(wire), Label(LABELS.get(wire, wire))
        if value is None:
            if rule.required:
                message = Msg("req.option_required", field=field, model=spec.name, choices=_choices(rule.choices))
                issues.append(FieldIssue(field.name, message, (wire,)))
            continue
        if rule.choices and value not in rule.choices:
            message = Msg("req.not_allowed", field=field, value=value, expected=_choices(rule.choices))
            issues.append(FieldIssue(field.name, message, (wire,)))
        elif rule.bounds and not rule.bounds[0] <= value <= rule.bounds[1]:
            low, high = rule.bounds
            message = Msg("req.option_range", field=field, value=value, low=low, high=high)
            issues.append(FieldIssue(field.name, message, (wire,)))
    return issues


def prompt_issues(
    text: str | None, *, spec: ModelSpec, provider: ProviderSpec, wire: str = "promptText"
) -> list[FieldIssue]:
    """Problems with a prompt (or a negative prompt: ``wire``): required, length in UTF-16 units, control
    characters."""
    cap = provider.limits.prompt_max_utf16
    field = Label(LABELS[wire])
    required = spec.prompt_required and wire == "promptText"
    if text is None or text == "":
        return [_issue(Msg("req.prompt_required", model=spec.name), wire)] if required else []
    if not text.strip():
        return [_issue(Msg("req.prompt_spaces_required" if required else "req.prompt_spaces", field=field), wire)]
    bad = [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t"]
    if bad:
        return [_issue(Msg("req.prompt_control", field=field, count=len(bad), code=ord(bad[0])), wire)]
    length = utf16_len(text)
    if length > cap:
        return [_issue(Msg("req.prompt_too_long", field=field, length=length, cap=cap, over=length - cap), wire)]
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
    return issues + _text_to_video_issues(request, spec, provider) + _notify_hook_issues(request, provider)


def _text_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = prompt_issues(request.prompt_text, spec=spec, provider=provider)
    return issues + prompt_issues(request.negative_prompt, spec=spec, provider=provider, wire="negativePrompt")


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


def _keyframe_issues(request: VideoToVideoRequest, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    """aleph2's keyframes: how many, each placed once (seconds or a fraction), their edit windows all or none."""
    keyframes = request.keyframes or []
    issues: list[FieldIssue] = []
    if len(keyframes) > spec.max_keyframes:
        message = Msg("req.too_many_keyframes", model=spec.name, most=spec.max_keyframes, given=len(keyframes))
        issues.append(_issue(message, "keyframes"))
    if len({k.range is not None for k in keyframes}) > 1:
        issues.append(_issue(Msg("req.keyframe_windows"), "keyframes"))
    for index, keyframe in enumerate(keyframes):
        label = keyframe_label(index)
        for problem in _keyframe_problems(keyframe):
            message = Msg("req.field_problem", field=Label(label), problem=problem)
            issues.append(FieldIssue(label, message, ("keyframes", index)))
        path = ("keyframes", index, "uri")
        issues += media_uri_issue(keyframe.uri, kind="image", path=path, provider=provider, label=label)
    return issues


def keyframe_label(index: int) -> str:
    """What the visitor calls the keyframe at ``index`` ("Keyframe 1" for the first)."""
    return f"Keyframe {index + 1}"


def _keyframe_problems(keyframe: Keyframe) -> list[Msg]:
    if (keyframe.seconds is None) == (keyframe.at is None):
        return [Msg("req.keyframe_when")]
    problems: list[Msg] = []
    if keyframe.at is not None and not 0.0 <= keyframe.at <= 1.0:
        problems.append(Msg("req.keyframe_at", value=keyframe.at))
    if keyframe.seconds is not None and not 0.0 <= keyframe.seconds <= KEYFRAME_MAX_SECONDS:
        problems.append(Msg("req.keyframe_seconds", value=keyframe.seconds, high=KEYFRAME_MAX_SECONDS))
    window = keyframe.range
    if window is not None and not 0 <= window.start_seconds < window.end_seconds:
        problems.append(Msg("req.window_order", start=window.start_seconds, end=window.end_seconds))
    elif window is not None and keyframe.seconds is not None and not window.contains(keyframe.seconds):
        problems.append(
            Msg("req.keyframe_outside", value=keyframe.seconds, start=window.start_seconds, end=window.end_seconds)
        )
    return problems


def _video_to_video_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = media_uri_issue(request.video_uri, kind="video", path=("videoUri",), provider=provider)
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    references = request.references or []
    if "references" in spec.options and len(references) > spec.max_references:
        issues.append(
            _issue(
                Msg("req.too_many_references", model=spec.name, most=spec.max_references, given=len(references)),
                "references",
            )
        )
    for index, ref in enumerate(references):
        issues += media_uri_issue(ref.uri, kind="image", path=("references", index, "uri"), provider=provider)
    aspect = request.target_aspect_ratio
    if aspect is not None and spec.outpaint_aspects and aspect not in spec.outpaint_aspects:
        message = Msg("req.aspect_unavailable", aspect=aspect, model=spec.name, choices=_choices(spec.outpaint_aspects))
        issues.append(_issue(message, "targetAspectRatio"))
    return issues + _keyframe_issues(request, spec, provider)


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


def _video_upscale_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    return media_uri_issue(request.video_uri, kind="video", path=("videoUri",), provider=provider)


def _video_to_audio_issues(request: Any, spec: ModelSpec, provider: ProviderSpec) -> list[FieldIssue]:
    issues = media_uri_issue(request.video_uri, kind="video", path=("videoUri",), provider=provider)
    if not request.duration > 0:
        issues.append(_issue(Msg("req.duration_positive", value=request.duration), "duration"))
    issues += prompt_issues(request.prompt_text, spec=spec, provider=provider)
    return issues + prompt_issues(request.negative_prompt, spec=spec, provider=provider, wire="negativePrompt")


_ENDPOINT_CHECKS: dict[str, Callable[[Any, ModelSpec, ProviderSpec], list[FieldIssue]]] = {
    "image_to_video": _image_to_video_issues,
    "text_to_video": _text_to_video_issues,
    "video_to_video": _video_to_video_issues,
    "character_performance": _character_performance_issues,
    "video_upscale": _video_upscale_issues,
    "video_to_audio": _video_to_audio_issues,
}
