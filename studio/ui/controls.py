"""What each form control offers, computed from the capability table for a provider and model.

Pure functions returning Gradio updates: switching the provider or model changes the ratio and duration choices
at once and keeps the current value when it is still allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from studio.capabilities import PROVIDERS, Endpoint, ModelSpec, ProviderSpec
from studio.capabilities import provider as provider_spec
from studio.i18n import Join, Label, t
from studio.requests import ENDPOINT_LABELS

Endpoints = Endpoint | Sequence[Endpoint]  # a tab's endpoint, or the several one tab serves (Finish's passes)


def endpoints_of(endpoint: Endpoints) -> tuple[Endpoint, ...]:
    return (endpoint,) if isinstance(endpoint, str) else tuple(endpoint)  # type: ignore[return-value]


def models_of(provider: str, endpoint: Endpoints) -> list[ModelSpec]:
    return [m for e in endpoints_of(endpoint) for m in provider_spec(provider).models_for(e)]


def model_choices(provider: str, endpoint: Endpoints) -> list[tuple[str, str]]:
    """(label, name) for each model ``provider`` offers on ``endpoint``: "veo3.1 · Veo 3.1"."""
    return [(f"{m.name} · {m.label}", m.name) for m in models_of(provider, endpoint)]


def model_info(spec: ModelSpec | None, lang: str = "en") -> str:
    """The line under the model: that it is an older one, gone from Runway's own API ('' otherwise)."""
    return t(lang, "page.legacy_model", name=spec.name) if spec is not None and spec.legacy else ""


def first_spec(provider: str, endpoint: Endpoints) -> ModelSpec | None:
    """The model a tab starts with on ``provider`` (None when the provider offers no model there)."""
    return next(iter(models_of(provider, endpoint)), None)


def spec_of(provider: str, endpoint: Endpoints, model: str | None) -> ModelSpec | None:
    """The model called ``model`` on ``provider`` on (one of) ``endpoint``."""
    found = (provider_spec(provider).model(model or "", e) for e in endpoints_of(endpoint))
    return next((spec for spec in found if spec is not None), None)


def keep(value: Any, allowed: list[Any] | tuple[Any, ...], default: Any) -> Any:
    """``value`` when it is still allowed, else ``default``."""
    return value if value in allowed else default


def model_update(provider: str, endpoint: Endpoints, current: str | None) -> Any:
    names = [m.name for m in models_of(provider, endpoint)]
    return gr.update(choices=model_choices(provider, endpoint), value=keep(current, names, names[0] if names else None))


def ratio_update(spec: ModelSpec | None, current: str | None) -> Any:
    """The ratio's choices for ``spec``; hidden for a model that takes none (aleph2 keeps the input's size)."""
    if spec is None:
        return gr.update(choices=[], value=None, interactive=False)
    if not spec.ratios:
        return gr.update(choices=[], value=None, visible=False)
    value = keep(current, spec.ratios, spec.default_ratio)
    return gr.update(choices=list(spec.ratios), value=value, interactive=True, visible=True)


def duration_choices(spec: ModelSpec | None) -> list[str]:
    """Durations as the dropdown offers them (text, as an API caller sends them too)."""
    return [str(d) for d in spec.durations] if spec and spec.durations else []


def kept_duration(spec: ModelSpec | None, current: str | int | None) -> str | None:
    """The duration the control shows for ``spec``: the current one while still allowed, else the default."""
    if spec is None or not spec.durations:
        return None
    return keep(str(current or ""), duration_choices(spec), str(spec.default_duration))  # type: ignore[no-any-return]


def duration_update(spec: ModelSpec | None, current: str | int | None) -> Any:
    if spec is None or not spec.durations:
        return gr.update(choices=[], value=None, interactive=False)
    return gr.update(choices=duration_choices(spec), value=kept_duration(spec, current), interactive=True)


def last_frame_note(provider: str, spec: ModelSpec | None, lang: str = "en") -> str:
    if spec is not None and spec.supports_last_frame:
        return t(lang, "page.last_frame_ok")
    able = [m.name for m in provider_spec(provider).models_for("image_to_video") if m.supports_last_frame]
    model = spec.name if spec else t(lang, "page.this_model")
    if able:
        return t(lang, "page.no_last_frame_choose", model=model, models=Join(able, "or"))
    return t(lang, "page.no_last_frame", model=model)


def serves(provider: ProviderSpec, endpoint: Endpoints) -> bool:
    """``provider`` offers a model on (one of) ``endpoint``."""
    return any(provider.models_for(e) for e in endpoints_of(endpoint))


def unavailable_note(provider: ProviderSpec, endpoint: Endpoints, lang: str = "en") -> str:
    """Why a tab cannot generate on ``provider`` ('' when it can), in ``lang``."""
    if serves(provider, endpoint):
        return ""
    able = [Label(p.label) for p in PROVIDERS.values() if serves(p, endpoint)]
    return t(
        lang,
        "page.unavailable",
        provider=Label(provider.label),
        tab=Label(ENDPOINT_LABELS[endpoints_of(endpoint)[0]]),
        providers=Join(able, "or"),
    )
