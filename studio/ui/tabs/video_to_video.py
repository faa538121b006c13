"""Video to Video: an input video restyled by a prompt and an optional reference image."""

from __future__ import annotations

import gradio as gr

from studio.capabilities import Endpoint
from studio.i18n import t
from studio.ui.bindings import Bindings, Field, Upload, prompt_field
from studio.ui.gradio_compat import RawImage, RawRadio
from studio.ui.tabs.base import GenerationTab, asset, url_box
from studio.ui.translations import UI

THRESHOLD_CHOICES = [(UI("ui.threshold_auto"), "auto"), (UI("ui.threshold_low"), "low")]
EXAMPLES = [
    {
        "video": asset("city_drive.mp4"),
        "reference": asset("watercolor_reference.jpg"),
        "prompt_text": "Repaint the city as a teal and gold watercolour",
        "ratio": "1280:720",
    }
]


def threshold_field(radio: RawRadio) -> Field:
    return Field(radio, "threshold", option="contentModeration", empty="auto")


def threshold_radio(prefix: str) -> RawRadio:
    """The public-figure threshold (contentModeration), shared with Character Performance."""
    return RawRadio(
        THRESHOLD_CHOICES, value="auto", label=UI("ui.public_figure_threshold"), elem_id=f"{prefix}_threshold"
    )


class VideoToVideoTab(GenerationTab):
    endpoint: Endpoint = "video_to_video"
    prefix = "v2v"

    EXAMPLES = EXAMPLES

    def build_form(self) -> None:
        with gr.Row():
            with gr.Column():
                self.video = gr.Video(
                    label=UI("ui.input_video"), sources=["upload"], elem_id="v2v_video_in", height=220
                )
                self.video_url = url_box(UI("ui.input_video_link"), "v2v_video_url")
                self._length_note_box(Upload(self.video, self.video_url, "video"), "v2v_video_note")
            with gr.Column():
                self.reference = RawImage(
                    label=UI("ui.reference_image"),
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    elem_id="v2v_reference",
                    height=220,
                )
                self.reference_url = url_box(UI("ui.reference_image_link"), "v2v_reference_url")
        self._prompt(placeholder=UI("ui.v2v_prompt_placeholder"))
        self._model_controls()
        with gr.Row():
            self.threshold = threshold_radio(self.prefix)
        self._seed_controls()
        self._actions()
        self.bindings = Bindings(
            [
                self.length_source,
                Upload(self.reference, self.reference_url, "reference"),
                prompt_field(self.prompt),
                *self.common_bindings(),
                threshold_field(self.threshold),
            ]
        )

    def length_note(self, seconds: float | None, provider: str, lang: str) -> str:
        rule = self.length_rule(provider)
        used = rule.use_first_seconds if rule else None
        limit = t(lang, "page.first_seconds_used", seconds=used) if used else ""
        length = t(lang, "page.video_length", seconds=seconds) if seconds else ""
        return f"{length}{limit}"
