"""Video to Video: an input video restyled by a prompt, with gen4_aleph's reference image or aleph2's timed
keyframes and outpainting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gradio as gr

from studio.capabilities import OUTPAINT_ASPECTS, PROVIDERS, Endpoint, ModelSpec
from studio.errors import FieldIssue, InvalidInput
from studio.forms import KeyframeInput, MediaInput
from studio.i18n import Label, Msg, t
from studio.requests import keyframe_label
from studio.ui.bindings import Bindings, Data, Field, LabelOf, Upload, prompt_field, whole
from studio.ui.gradio_compat import RawImage, RawNumber, RawRadio
from studio.ui.tabs.base import GenerationTab, asset, threshold_field, threshold_radio, url_box
from studio.ui.translations import UI, page_text

# The editor's rows: as many keyframes as any model takes (aleph2: 5).
MAX_KEYFRAME_ROWS = max(m.max_keyframes for p in PROVIDERS.values() for m in p.models)
KEYFRAME_UNITS = [(UI("ui.keyframe_seconds"), "seconds"), (UI("ui.keyframe_fraction"), "fraction")]
EXAMPLES = [
    {
        "video": asset("city_drive.mp4"),
        "reference": asset("watercolor_reference.jpg"),
        "prompt_text": "Repaint the city as a teal and gold watercolour",
        "model": "gen4_aleph",
    },
    {
        "video": asset("city_drive.mp4"),
        "prompt_text": "Turn the drive into a snowy winter evening",
        "model": "aleph2",
    },
]


@dataclass(frozen=True)
class KeyframeRow:
    """One row of the keyframe editor: the image, when it applies, and an optional edit window."""

    group: Any
    image: Any
    when: Any
    unit: Any
    start: Any
    end: Any


@dataclass(frozen=True)
class Keyframes:
    """aleph2's keyframes: every row with an image is a keyframe, in the order of the rows."""

    rows: Sequence[KeyframeRow]
    shown: Any  # how many rows the editor shows (gr.State)
    name: str = "keyframes"
    option: ClassVar[str | None] = "keyframes"

    @property
    def components(self) -> tuple[Any, ...]:
        return tuple(c for r in self.rows for c in (r.image, r.when, r.unit, r.start, r.end))

    @property
    def example_components(self) -> tuple[Any, ...]:
        return ()

    def anchors(self, label_of: LabelOf) -> dict[str, str]:
        rows = {keyframe_label(i): f"v2v_keyframe_{i}" for i in range(len(self.rows))}
        return {label_of(self.name, self.option): "v2v_keyframes"} | rows

    def read(self, data: Data) -> list[KeyframeInput]:
        keyframes: list[KeyframeInput] = []
        issues: list[FieldIssue] = []
        for row in self.rows:
            if not data[row.image]:
                continue
            label = keyframe_label(len(keyframes))
            try:
                keyframes.append(_keyframe(data, row, label))
            except InvalidInput as err:
                issues += err.issues
        if issues:
            raise InvalidInput(issues)
        return keyframes

    def fill(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        given: list[KeyframeInput] = list(values.get(self.name) or ())
        updates: dict[Any, Any] = {self.shown: max(1, len(given))}
        for index, row in enumerate(self.rows):
            keyframe = given[index] if index < len(given) else None
            updates |= {
                row.group: gr.update(visible=index < max(1, len(given))),
                row.image: keyframe.image.path if keyframe else None,
                row.when: _when(keyframe),
                row.unit: "fraction" if keyframe and keyframe.at is not None else "seconds",
                row.start: keyframe.start if keyframe and keyframe.start is not None else 0,  # 0 to 0: no window
                row.end: keyframe.end if keyframe and keyframe.end is not None else 0,
            }
        return updates

    def example(self, values: Mapping[str, Any]) -> list[Any]:
        return []

    def targets(self) -> list[Any]:
        return [self.shown, *(c for r in self.rows for c in (r.group, r.image, r.when, r.unit, r.start, r.end))]


def _when(keyframe: KeyframeInput | None) -> float:
    if keyframe is None:
        return 0  # as the box starts: an empty number box would still be sent as 0
    return keyframe.seconds if keyframe.seconds is not None else keyframe.at or 0.0


def _keyframe(data: Data, row: KeyframeRow, label: str) -> KeyframeInput:
    when = _number(data[row.when], label)
    if when is None:
        raise InvalidInput(FieldIssue(label, Msg("page.keyframe_when", field=Label(label))))
    unit = data[row.unit]
    start, end = whole(label)(data[row.start]), whole(label)(data[row.end])
    if not start and not end:  # both boxes empty (the page sends an empty number as 0): no edit window
        start = end = None
    return KeyframeInput(
        image=MediaInput(path=str(data[row.image])),
        seconds=when if unit != "fraction" else None,
        at=when if unit == "fraction" else None,
        start=start,
        end=end,
    )


def _or_none(value: Any) -> Any:
    return value or None


def _number(value: Any, label: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(FieldIssue(label, Msg("page.keyframe_when", field=Label(label)))) from None


class VideoToVideoTab(GenerationTab):
    endpoint: Endpoint = "video_to_video"
    prefix = "v2v"

    EXAMPLES = EXAMPLES

    def build_inputs(self) -> None:
        with gr.Row(elem_classes="rs-inputs"):
            with gr.Column(min_width=200):
                self.video = gr.Video(
                    label=UI("ui.input_video"), sources=["upload"], elem_id="v2v_video_in", height=180
                )
                self.video_url = url_box(UI("ui.input_video_link"), "v2v_video_url")
                self._length_note_box(Upload(self.video, self.video_url, "video"), "v2v_video_note")
            with gr.Column(visible=self._takes("references"), min_width=200) as self.reference_column:
                self.reference = RawImage(
                    label=UI("ui.reference_image"),
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    elem_id="v2v_reference",
                    height=180,
                )
                self.reference_url = url_box(UI("ui.reference_image_link"), "v2v_reference_url")
        self._prompt(placeholder=UI("ui.v2v_prompt_placeholder"))
        self.keyframes = self._keyframe_editor()

    def build_essentials(self) -> None:
        self.outpaint = gr.Dropdown(
            [(UI("ui.outpaint_keep"), ""), *((aspect, aspect) for aspect in OUTPAINT_ASPECTS)],
            value="",
            label=UI("ui.outpaint"),
            elem_id="v2v_outpaint",
            visible=self._takes("targetAspectRatio"),
            min_width=140,
        )

    def build_more(self) -> None:
        self.threshold = threshold_radio(self.prefix)

    def make_bindings(self) -> Bindings:
        return Bindings(
            [
                self.length_source,
                Upload(self.reference, self.reference_url, "reference"),
                self.keyframes,
                prompt_field(self.prompt),
                *self.common_bindings(),
                Field(self.outpaint, "target_aspect_ratio", read_value=_or_none, option="targetAspectRatio", empty=""),
                threshold_field(self.threshold),
            ],
            groups={self.reference_column: ("references",), self.keyframe_box: ("keyframes",)},
        )

    def _takes(self, option: str) -> bool:
        return self.start_spec is not None and option in self.start_spec.options

    def _keyframe_editor(self) -> Keyframes:
        """Up to five keyframes: an image, when it applies (seconds, or a fraction of the video), and an optional
        edit window; one row shows at first, "Add a keyframe" shows the next."""
        rows = []
        with gr.Group(visible=self._takes("keyframes"), elem_id="v2v_keyframes") as self.keyframe_box:
            gr.Markdown(UI("ui.keyframes_help"), elem_classes="rs-note")
            for index in range(MAX_KEYFRAME_ROWS):

                def labels(key: str, n: int = index + 1) -> Any:  # each row's own names, for the page and the API
                    return page_text(lambda lang: t(lang, key, n=n))

                with gr.Row(visible=index == 0, equal_height=False) as group:
                    image = RawImage(
                        label=labels("page.keyframe_image"),
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard"],
                        elem_id=f"v2v_keyframe_{index}",
                        height=120,
                        scale=2,
                    )
                    name = f"v2v_keyframe_{index}"
                    with gr.Column(scale=3):
                        with gr.Row():
                            when = RawNumber(0, label=labels("page.keyframe_time"), elem_id=f"{name}_when")
                            unit = RawRadio(
                                KEYFRAME_UNITS,
                                value="seconds",
                                label=labels("page.keyframe_unit"),
                                elem_id=f"{name}_unit",
                            )
                        with gr.Row():
                            start = RawNumber(
                                0, label=labels("page.window_start"), precision=0, elem_id=f"{name}_start"
                            )
                            end = RawNumber(0, label=labels("page.window_end"), precision=0, elem_id=f"{name}_end")
                rows.append(KeyframeRow(group, image, when, unit, start, end))
            self.add_keyframe = gr.Button(UI("ui.add_keyframe"), size="sm", elem_id="v2v_add_keyframe")
        return Keyframes(rows, gr.State(1))

    def length_note(self, seconds: float | None, spec: ModelSpec | None, lang: str) -> str:
        rule = self.length_rule(spec)
        length = t(lang, "page.video_length", seconds=seconds) if seconds else ""
        if rule is not None and rule.use_first_seconds:
            return length + t(lang, "page.first_seconds_used", seconds=rule.use_first_seconds)
        if rule is not None and rule.min_seconds and rule.max_seconds:
            return length + t(lang, "page.whole_video_used", low=rule.min_seconds, high=rule.max_seconds)
        return length

    def show_one_more(self, shown: int) -> dict[Any, Any]:
        shown = min(MAX_KEYFRAME_ROWS, int(shown or 1) + 1)
        rows = self.keyframes.rows
        return {self.keyframes.shown: shown} | {r.group: gr.update(visible=i < shown) for i, r in enumerate(rows)}

    def wire(self) -> None:
        super().wire()
        self.add_keyframe.click(
            self.show_one_more,
            self.keyframes.shown,
            [self.keyframes.shown, *(r.group for r in self.keyframes.rows)],
            queue=False,
            show_progress="hidden",
        )
