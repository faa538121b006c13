"""Image to Video: a first frame (and a last one, for models that take it), a prompt, a duration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr

from studio.capabilities import Endpoint, ModelSpec
from studio.errors import InvalidInput
from studio.forms import FITS
from studio.i18n import Msg, localize, request_language, t
from studio.ui import controls
from studio.ui.bindings import Bindings, Field, Upload, one_of, prompt_field, stripped_or_none
from studio.ui.gradio_compat import RawImage, RawRadio
from studio.ui.tabs.base import GenerationTab, asset, url_box
from studio.ui.translations import UI, page_text

# Choice labels are translation keys (the browser shows them in its language); the values are what is sent.
FIT_CHOICES = [(UI(f"ui.fit_{fit.replace('-', '_')}"), fit) for fit in FITS]
FIT_LABEL = "Fit the image to the ratio"
EXAMPLES = [
    {
        "first": asset("lighthouse_dawn.jpg"),
        "last": None,
        "prompt_text": "The camera drifts slowly toward the lighthouse as waves roll in",
        "model": "gen4_turbo",
        "ratio": "1280:720",
        "duration": 5,
    },
    {
        "first": asset("lighthouse_dawn.jpg"),
        "last": asset("lighthouse_dusk.jpg"),
        "prompt_text": "Time passes from dawn to dusk and the lamp lights up",
        "model": "gen3a_turbo",
        "ratio": None,
        "duration": 5,
    },
    {
        "first": asset("paper_boats.png"),
        "last": None,
        "prompt_text": "Paper boats drift across the pond in a light breeze",
        "model": "gen4_turbo",
        "ratio": "960:960",
        "duration": 5,
    },
]


def _image(label: Any, elem_id: str, *, interactive: bool = True) -> RawImage:
    return RawImage(
        label=label,
        type="filepath",
        image_mode=None,
        sources=["upload", "clipboard"],
        elem_id=elem_id,
        height=180,
        interactive=interactive,
    )


class ImageToVideoTab(GenerationTab):
    endpoint: Endpoint = "image_to_video"
    prefix = "i2v"

    EXAMPLES = EXAMPLES

    def build_inputs(self) -> None:
        spec = self.start_spec
        last_ok = spec is not None and spec.supports_last_frame
        with gr.Row(elem_classes="rs-inputs"):
            with gr.Column(min_width=200):
                self.first = _image(UI("ui.first_frame"), "i2v_first")
                self.first_url = url_box(UI("ui.first_frame_link"), "i2v_first_url")
            with gr.Column(visible=last_ok, min_width=200) as self.last_column:  # exactly when the model takes one
                self.last = _image(UI("ui.last_frame"), "i2v_last")
                self.last_url = url_box(UI("ui.last_frame_link"), "i2v_last_url")
        self.last_note = gr.Markdown(
            page_text(lambda lang: controls.last_frame_note(self.default_provider, spec, lang)),
            elem_id="i2v_last_note",
            elem_classes="rs-note",
        )
        self._prompt(placeholder=UI("ui.i2v_prompt_placeholder"))
        self.sound = self._sound_controls()

    def build_essentials(self) -> None:
        self._duration_control()

    def build_more(self) -> None:
        self.fit = RawRadio(FIT_CHOICES, value="crop", label=UI("ui.fit"), elem_id="i2v_fit")
        with gr.Group(visible=False) as self.extras:  # the proxy's own options
            self.watermark = gr.Checkbox(False, label=UI("ui.watermark"), elem_id="i2v_watermark")
            self.notify_hook = gr.Textbox(label=UI("ui.notify_hook"), max_lines=1, elem_id="i2v_notify_hook")

    def make_bindings(self) -> Bindings:
        return Bindings(
            [
                Upload(self.first, self.first_url, "first"),
                Upload(self.last, self.last_url, "last"),
                prompt_field(self.prompt),
                *self.common_bindings(),
                self.duration_field(),
                *self.sound,
                Field(self.fit, "fit", read_value=one_of(FITS, FIT_LABEL, "form.fit_choices")),
                Field(self.watermark, "watermark", read_value=bool, option="watermark", empty=False),
                Field(self.notify_hook, "notify_hook", read_value=stripped_or_none, option="notify_hook", empty=""),
            ],
            groups={self.extras: ("watermark", "notify_hook"), **self.sound_group},
        )

    def build_result(self) -> None:
        with gr.Accordion(UI("ui.what_will_be_sent"), open=False):
            self.preview = gr.Image(
                label=UI("ui.first_frame_as_sent"), interactive=False, elem_id="i2v_preview", height=200
            )
            self.preview_note = gr.Markdown(elem_id="i2v_preview_note")

    def model_targets(self) -> list[Any]:
        return [self.last_column, self.last_note]

    def model_changes(self, spec: ModelSpec | None, data: Mapping[Any, Any], lang: str) -> dict[Any, Any]:
        last_ok = spec is not None and spec.supports_last_frame
        return {
            self.last_column: gr.update(visible=last_ok),
            self.last_note: controls.last_frame_note(data[self.shared.provider], spec, lang),
        }

    async def on_preview(
        self, provider: str, path: str | None, ratio: str | None, fit: str, request: gr.Request
    ) -> dict[Any, Any]:
        if not path or not ratio:
            return {self.preview: None, self.preview_note: ""}
        lang = request_language(request)
        try:
            image = await self.studio.preview_image(path, label="First frame", ratio=ratio, fit=fit, provider=provider)  # type: ignore[arg-type]
        except InvalidInput as err:
            return {self.preview: None, self.preview_note: t(lang, "page.warning", text=localize(err, lang))}
        fitted = Msg(f"fit.{fit}") if fit in FITS else fit
        return {
            self.preview: image,
            self.preview_note: t(lang, "page.preview", width=image.width, height=image.height, fit=fitted),
        }

    def wire(self) -> None:
        super().wire()
        preview_inputs = [self.shared.provider, self.first, self.ratio, self.fit]
        for trigger in (self.first.change, self.ratio.change, self.fit.change):
            trigger(self.on_preview, preview_inputs, [self.preview, self.preview_note], show_progress="hidden")
