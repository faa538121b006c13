"""Finish: a finishing pass over a clip, each pass one of the provider's models on the finishing endpoints:
"Upscale (Magnific)" and "Frame rate" (video_upscale), "Add sound" (video_to_audio).

The pass's own settings show only for the pass that takes them (the table's ``options``); the cost follows the
clip's length (and, for the upscaler, the resolution and the frame-rate boost). A clip on any take card or in
History comes here with "Finish this clip".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr

from studio.capabilities import FINISHING, PROVIDERS, Endpoint, ModelSpec, OptionRule, framerate_label
from studio.forms import Form
from studio.i18n import t
from studio.requests import REQUEST_TYPES
from studio.ui.bindings import Bindings, Field, Upload, prompt_field, stripped_or_none, text_or_none, whole
from studio.ui.gradio_compat import RawNumber
from studio.ui.tabs.base import GenerationTab, asset, url_box
from studio.ui.translations import UI

EXAMPLES = [
    {"video": asset("city_drive.mp4"), "model": "magnific_video_upscaler_creative", "resolution": "720p"},
    {"video": asset("city_drive.mp4"), "model": "enhance_frame_rate", "target_framerate": "60"},
    {"video": asset("city_drive.mp4"), "model": "mirelo_sfx_2_0", "prompt_text": "Traffic hum and a distant horn"},
]


def _rule(option: str) -> OptionRule:
    """The rule the table gives ``option`` (the first model that takes it, among every provider's)."""
    return next(m.option_rules[option] for p in PROVIDERS.values() for m in p.models if option in m.option_rules)


def _or_none(value: Any) -> Any:
    return value or None


class FinishTab(GenerationTab):
    endpoint: Endpoint = "video_upscale"
    endpoints = FINISHING
    api_key = "finish"
    prefix = "fin"

    EXAMPLES = EXAMPLES

    def build_inputs(self) -> None:
        self.video = gr.Video(label=UI("ui.input_video"), sources=["upload"], elem_id="fin_video_in", height=200)
        self.video_url = url_box(UI("ui.input_video_link"), "fin_video_url")
        self._length_note_box(Upload(self.video, self.video_url, "video"), "fin_video_note")

    def build_after_model(self) -> None:
        """Each pass's own settings, under the pass's choice: shown for the pass that takes them."""
        self._upscale_controls()
        self._frame_rate_controls()
        self._sound_controls_of_the_pass()

    def _upscale_controls(self) -> None:
        resolution = _rule("resolution")
        with gr.Group(visible=self._takes("resolution"), elem_id="fin_upscale") as self.upscale_box:
            with gr.Row():
                self.resolution = gr.Dropdown(
                    [(UI("ui.resolution_default"), ""), *((c, c) for c in resolution.choices)],
                    value="",  # not sent: the API's default (the table's), which the cost assumes too
                    label=UI("ui.resolution"),
                    elem_id="fin_resolution",
                    allow_custom_value=True,  # an off-list value gets the studio's own message naming the field
                )
                self.flavor = gr.Dropdown(
                    [(UI("ui.flavor_default"), ""), *((c, c) for c in _rule("flavor").choices)],
                    value="",
                    label=UI("ui.flavor"),
                    elem_id="fin_flavor",
                    allow_custom_value=True,
                )
                self.fps_boost = gr.Checkbox(False, label=UI("ui.fps_boost"), elem_id="fin_fps_boost")
            with gr.Row():
                low, high = _rule("creativity").bounds or (0, 100)
                self.creativity, self.sharpen, self.smart_grain = (
                    RawNumber(None, label=UI(key) + f" ({low}–{high})", precision=0, elem_id=f"fin_{name}")
                    for key, name in (
                        ("ui.creativity", "creativity"),
                        ("ui.sharpen", "sharpen"),
                        ("ui.smart_grain", "smart_grain"),
                    )
                )

    def _frame_rate_controls(self) -> None:
        rates = _rule("targetFramerate").choices
        with gr.Group(visible=self._takes("targetFramerate"), elem_id="fin_frame_rate") as self.rate_box:
            self.target_framerate = gr.Dropdown(
                [(framerate_label(rate), rate) for rate in rates],
                value="60" if "60" in rates else rates[0],
                label=UI("ui.target_framerate"),
                elem_id="fin_target_framerate",
                allow_custom_value=True,
            )

    def _sound_controls_of_the_pass(self) -> None:
        formats = _rule("format").choices
        with gr.Group(visible=self._takes("format"), elem_id="fin_sound") as self.sound_box:
            self._prompt(placeholder=UI("ui.sound_prompt_placeholder"))
            self.negative_prompt = gr.Textbox(
                label=UI("ui.negative_prompt"), max_lines=2, elem_id="fin_negative_prompt"
            )
            with gr.Row():
                self.audio_format = gr.Dropdown(
                    list(formats), value=formats[0], label=UI("ui.audio_format"), elem_id="fin_format"
                )
                self.preserve_speech = gr.Checkbox(False, label=UI("ui.preserve_speech"), elem_id="fin_preserve_speech")

    def _takes(self, option: str) -> bool:
        return self.start_spec is not None and option in self.start_spec.options

    def make_bindings(self) -> Bindings:
        number = {name: whole(label) for name, label in (("c", "Creativity"), ("s", "Sharpen"), ("g", "Smart grain"))}
        return Bindings(
            [
                self.length_source,
                *self.common_bindings(),
                Field(self.resolution, "resolution", read_value=_or_none, option="resolution", empty=""),
                Field(self.flavor, "flavor", read_value=_or_none, option="flavor", empty=""),
                Field(self.fps_boost, "fps_boost", read_value=bool, option="fpsBoost", empty=False),
                Field(self.creativity, "creativity", read_value=number["c"], option="creativity"),
                Field(self.sharpen, "sharpen", read_value=number["s"], option="sharpen"),
                Field(self.smart_grain, "smart_grain", read_value=number["g"], option="smartGrain"),
                Field(self.target_framerate, "target_framerate", read_value=stripped_or_none, option="targetFramerate"),
                prompt_field(self.prompt),
                Field(
                    self.negative_prompt, "negative_prompt", read_value=text_or_none, option="negativePrompt", empty=""
                ),
                Field(self.audio_format, "format", read_value=_or_none, option="format"),
                Field(self.preserve_speech, "preserve_speech", read_value=bool, option="preserveSpeech", empty=False),
            ],
            groups={
                self.upscale_box: ("resolution", "flavor", "fpsBoost", "creativity", "sharpen", "smartGrain"),
                self.rate_box: ("targetFramerate",),
                self.sound_box: ("negativePrompt", "format", "preserveSpeech"),
            },
        )

    def form(self, data: Mapping[Any, Any]) -> Form:
        """The pass's form: only the fields its request has (the prompt box belongs to Add sound alone)."""
        form = super().form(data)
        request = REQUEST_TYPES[form.endpoint]
        kept = {k: v for k, v in form.values.items() if k in request.model_fields or k in request.SLOTS}
        return Form(form.endpoint, kept)

    def example_form(self, row: Mapping[str, Any]) -> Form:
        form = super().example_form(row)
        spec = next((m for p in PROVIDERS.values() for m in p.models if m.name == row.get("model")), None)
        return Form(spec.endpoint if spec else form.endpoint, form.values)

    # --- the cost follows the resolution and the boost too ----------------------------------------------------------

    def cost_inputs(self) -> set[Any]:
        return super().cost_inputs() | {self.resolution, self.fps_boost}

    def price_options(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        return {"resolution": data.get(self.resolution) or None, "fpsBoost": bool(data.get(self.fps_boost))}

    def parent_after(self, data: Mapping[Any, Any]) -> str | None:
        """Every pass over the clip a chaining action brought continues it, until another clip is given."""
        return data.get(self.parent)  # type: ignore[no-any-return]

    def wire(self) -> None:
        super().wire()
        # Another clip, given by the visitor (not by a chaining action), continues nothing.
        for event in (self.video.upload, self.video.clear, self.video_url.input):
            event(lambda: None, None, self.parent, queue=False, show_progress="hidden")
        for control in (self.resolution, self.fps_boost):
            control.change(self.on_cost, self.cost_inputs(), self.cost, queue=False, show_progress="hidden")

    def length_note(self, seconds: float | None, spec: ModelSpec | None, lang: str) -> str:
        rule = self.length_rule(spec)
        length = t(lang, "page.video_length", seconds=seconds) if seconds else ""
        if rule is not None and rule.max_seconds:
            return length + t(lang, "page.finish_at_most", high=rule.max_seconds)
        return length + t(lang, "page.finish_whole")
