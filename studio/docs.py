"""README tables made from the code: the settings and the capability table.

``python -m studio.docs`` rewrites the tables in README.md between their markers; a test fails when they are
out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from studio.capabilities import PROVIDERS, USD_PER_CREDIT, ModelSpec
from studio.requests import REQUEST_TYPES
from studio.settings import documented

README = Path(__file__).resolve().parent.parent / "README.md"


def settings_table() -> str:
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    rows += [f"| `{name}` | {default} | {help} |" for name, default, help in documented()]
    return "\n".join(rows)


def model_table() -> str:
    """Every real provider's models (each simulator serves exactly its provider's rows, for free)."""
    rows = [
        "| Provider | Endpoint | Model | Ratios | Durations (s) | Frames | Prompt | Options | Credits/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for provider in (p for p in PROVIDERS.values() if not p.simulated):
        for m in provider.models:
            durations = ", ".join(map(str, m.durations)) if m.durations else _length_rule(m)
            frames = " + ".join(m.positions) if m.positions else "–"
            prompted = "prompt_text" in REQUEST_TYPES[m.endpoint].model_fields
            prompt = "required" if m.prompt_required else "optional" if prompted else "–"
            options = ", ".join(o for o in m.options if o != "contentModeration") or "–"
            name = f"`{m.name}`" + (" (legacy)" if m.legacy else "")
            ratios = " ".join(m.ratios) or "the input's"
            cells = [provider.label, m.endpoint, name, ratios, durations, frames, prompt, options, _price(m)]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _price(m: ModelSpec) -> str:
    if m.credits_per_frame:
        per = ", ".join(f"{c:g} at {r}" for r, c in m.credits_per_frame.items())
        return f"per output frame: {per}" + (" (third-party estimate)" if m.price_is_estimate else "")
    text = f"{m.credits_per_second} (${m.credits_per_second * USD_PER_CREDIT:.2f})"
    if m.audio_credits_per_second is not None:
        text += f", {m.audio_credits_per_second} with audio"
    if m.minimum_credits:
        text += f", at least {m.minimum_credits} a task"
    if m.price_is_guess:
        return text + " (a guess: no published price)"
    return text + (" (third-party estimate)" if m.price_is_estimate else "")


def _length_rule(model: ModelSpec) -> str:
    rules = model.video_inputs
    if "videoUri" in rules and rules["videoUri"].use_first_seconds:
        return f"first {rules['videoUri'].use_first_seconds:g} s of the input"
    if "videoUri" in rules:
        r = rules["videoUri"]
        limits = ", ".join(
            part
            for part in (
                f"{r.min_seconds:g}–{r.max_seconds:g} s"
                if r.min_seconds is not None and r.max_seconds is not None
                else f"up to {r.max_seconds:g} s"
                if r.max_seconds is not None
                else "",
                f"up to {r.max_fps:g} fps" if r.max_fps is not None else "",
            )
            if part
        )
        return "the input's length" + (f" ({limits})" if limits else "")
    if "reference" in rules:
        r = rules["reference"]
        return f"the reference's length ({r.min_seconds:g}–{r.max_seconds:g} s)"
    return "–"


TABLES = {"settings-table": settings_table, "model-table": model_table}


def render(text: str) -> str:
    """``text`` with every marked table replaced by its current version."""
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)", re.DOTALL)
        table = make()
        text = pattern.sub(lambda m: f"{m.group(1)}{table}\n{m.group(2)}", text)  # noqa: B023 - used at once
    return text


def main() -> int:
    text = README.read_text(encoding="utf-8")
    updated = render(text)
    if updated != text:
        README.write_text(updated, encoding="utf-8")
        print("README.md tables updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
