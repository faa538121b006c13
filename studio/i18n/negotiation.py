"""Which language a visitor reads: from the request's ``Accept-Language`` header."""

from __future__ import annotations

from typing import Any

from studio.i18n.catalog import DEFAULT


def language_of(accept_language: str | None) -> str:
    """The studio's language for an ``Accept-Language`` header: "zh-CN" when the visitor prefers Simplified
    Chinese (zh, zh-CN, zh-SG, zh-Hans...) over English, else "en". Preferences are taken in q-value order;
    Traditional Chinese (zh-TW, zh-HK, zh-Hant...) is not Simplified, so it is skipped like any other language."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, *attrs = [piece.strip() for piece in part.split(";")]
        weight = 1.0
        for attr in attrs:
            name, _, value = attr.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, index, tag.lower()))
    for _, _, tag in sorted(ranked):
        chosen = _supported(tag)
        if chosen:
            return chosen
    return DEFAULT


def _supported(tag: str) -> str | None:
    primary, *rest = tag.replace("_", "-").split("-")
    if primary == "zh":
        if "hant" in rest:
            return None
        if not rest or "hans" in rest or rest[0] in ("cn", "sg"):
            return "zh-CN"
        return None
    if primary in ("en", "*"):
        return "en"
    return None


def request_language(request: Any) -> str:
    """The language of a Gradio request (or any object with ``headers``); English without one."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return DEFAULT
    try:
        value = headers.get("accept-language")
    except AttributeError:
        value = None
    return language_of(value)
