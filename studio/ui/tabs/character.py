"""Character Performance: a character (an image or a video) performing a reference video's motion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gradio as gr

from studio.capabilities import Endpoint, ModelSpec
from studio.forms import NO_MEDIA, MediaInput
from studio.i18n import t
from studio.ui.bindings import Bindings, Data, Field, LabelOf, Upload, whole
from studio.ui.gradio_compat import RawImage, RawRadio, RawSlider
from studio.ui.tabs.base import GenerationTab, asset, threshold_field, threshold_radio, url_box
from studio.ui.translations import UI

EXAMPLES = [
    {
        "character_type": "image",
        "character": asset("robot_character.png"),
        "reference": asset("nodding_performance.mp4"),
        "ratio": "832:1104",
    }
]


@dataclass(frozen=True)
class Character:
    """The character: the image or the video upload, whichever ``character_type`` chose, or a link."""

    kind: Any
    image: Any
    video: Any
    link: Any
    name: str = "character"
    option: ClassVar[str | None] = None

    @property
    def components(self) -> tuple[Any, ...]:
        return (self.image, self.video, self.link)  # the kind is a binding of its own

    @property
    def example_components(self) -> tuple[Any, ...]:
        return (self.image,)  # the examples' characters are images

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        return {label_of(self.name, None): "cp_character"}  # the column holding the image, the video and the link

    def read(self, data: Data) -> MediaInput:
        upload = data[self.image] if data[self.kind] == "image" else data[self.video]
        url = (data[self.link] or "").strip() or None
        return MediaInput(path=str(upload) if upload else None, url=url)

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        given: MediaInput = values.get(self.name) or NO_MEDIA
        image = values.get("character_type", "image") == "image"
        return {
            self.image: gr.update(value=given.path if image else None, visible=image),
            self.video: gr.update(value=None if image else given.path, visible=not image),
            self.link: given.url or "",
        }

    def example(self, values: Mapping[str, Any]) -> list[Any]:
        return [values.get(self.name)]


class CharacterTab(GenerationTab):
    endpoint: Endpoint = "character_performance"
    prefix = "cp"

    EXAMPLES = EXAMPLES

    def build_inputs(self) -> None:
        with gr.Row(elem_classes="rs-inputs"):
            with gr.Column(min_width=200, elem_id="cp_character"):
                self.character_type = RawRadio(
                    [(UI("ui.character_image_choice"), "image"), (UI("ui.character_video_choice"), "video")],
                    value="image",
                    label=UI("ui.character_as"),
                    elem_id="cp_character_type",
                )
                self.character_image = RawImage(
                    label=UI("ui.character_image"),
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    elem_id="cp_character_image",
                    height=180,
                )
                self.character_video = gr.Video(
                    label=UI("ui.character_video"),
                    sources=["upload"],
                    visible=False,
                    elem_id="cp_character_video",
                    height=180,
                )
                self.character_url = url_box(UI("ui.character_link"), "cp_character_url")
                gr.Markdown(UI("ui.character_hint"), elem_classes="rs-note")
            with gr.Column(min_width=200):
                self.reference = gr.Video(
                    label=UI("ui.reference_performance"), sources=["upload"], elem_id="cp_reference", height=180
                )
                self.reference_url = url_box(UI("ui.reference_performance_link"), "cp_reference_url")
                self._length_note_box(Upload(self.reference, self.reference_url, "reference"), "cp_reference_note")

    def build_more(self) -> None:
        spec = self.start_spec
        low, high, self.default_intensity = (
            spec.expression_intensity if spec and spec.expression_intensity else (1, 5, 3)
        )
        with gr.Row():
            self.body_control = gr.Checkbox(True, label=UI("ui.body_control"), elem_id="cp_body_control")
            self.intensity = RawSlider(
                low,
                high,
                value=self.default_intensity,
                step=1,
                label=UI("ui.expression_intensity"),
                elem_id="cp_intensity",
            )
        self.threshold = threshold_radio(self.prefix)

    def make_bindings(self) -> Bindings:
        return Bindings(
            [
                Field(self.character_type, "character_type", empty="image"),
                Character(self.character_type, self.character_image, self.character_video, self.character_url),
                self.length_source,
                *self.common_bindings(),
                Field(self.body_control, "body_control", read_value=bool, empty=True),
                Field(
                    self.intensity,
                    "expression_intensity",
                    read_value=lambda v: whole("Expression intensity")(v) or 0,
                    empty=self.default_intensity,
                ),
                threshold_field(self.threshold),
            ]
        )

    def length_note(self, seconds: float | None, spec: ModelSpec | None, lang: str) -> str:
        rule = self.length_rule(spec)
        allowed = (
            t(lang, "page.allowed_length", low=rule.min_seconds, high=rule.max_seconds)
            if rule and rule.min_seconds and rule.max_seconds
            else ""
        )
        if seconds is None:
            return t(lang, "page.reference_follows", allowed=allowed)
        ok = rule is None or ((rule.min_seconds or 0) <= seconds <= (rule.max_seconds or seconds))
        return t(lang, "page.reference_length" if ok else "page.reference_length_bad", seconds=seconds, allowed=allowed)

    def wire(self) -> None:
        super().wire()
        self.character_type.change(
            lambda kind: {
                self.character_image: gr.update(visible=kind == "image"),
                self.character_video: gr.update(visible=kind == "video"),
            },
            self.character_type,
            [self.character_image, self.character_video],
            queue=False,
            show_progress="hidden",
        )
