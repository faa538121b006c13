"""Video to Video: an input video restyled by a prompt and an optional reference image."""

from __future__ import annotations

import gradio as gr

from studio.capabilities import Endpoint
from studio.i18n import t
from studio.ui import controls
from studio.ui.bindings import Bindings, Field, Upload, text_or_none
from studio.ui.gradio_compat import RawImage, RawRadio
from studio.ui.result_panel import ResultPanel
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


def threshold_radio(prefix: str) -> RawRadio:
    """The public-figure threshold (contentModeration), shared with Character Performance."""
    return RawRadio(
        THRESHOLD_CHOICES, value="auto", label=UI("ui.public_figure_threshold"), elem_id=f"{prefix}_threshold"
    )


class VideoToVideoTab(GenerationTab):
    endpoint: Endpoint = "video_to_video"
    prefix = "v2v"

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    with gr.Column():
                        self.video = gr.Video(
                            label=UI("ui.input_video"), sources=["upload"], elem_id="v2v_video_in", height=220
                        )
                        self.video_url = url_box(UI("ui.input_video_link"), "v2v_video_url")
                        self._length_note_box("v2v_video_note")
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
                self.length_source = Upload(self.video, self.video_url, "video")
                self.bindings = Bindings(
                    [
                        self.length_source,
                        Upload(self.reference, self.reference_url, "reference"),
                        Field(self.prompt, "prompt_text", read_value=text_or_none, empty=""),
                        *self.common_bindings(),
                        Field(self.threshold, "threshold", option="contentModeration", empty="auto"),
                    ]
                )
                self._examples(EXAMPLES)
            with gr.Column(scale=2):
                self.panel = ResultPanel(self.prefix)

    def length_note(self, seconds: float | None, provider: str, lang: str) -> str:
        spec = controls.first_spec(provider, self.endpoint)
        rule = spec.video_inputs.get("videoUri") if spec else None
        used = rule.use_first_seconds if rule else None
        limit = t(lang, "page.first_seconds_used", seconds=used) if used else ""
        length = t(lang, "page.video_length", seconds=seconds) if seconds else ""
        return f"{length}{limit}"
