"""The result side of a generation tab: status, the clip, its download, the chaining actions and copy-as-code."""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.codegen import CodeSnippets
from studio.jobs import JobStatus
from studio.phases import Phase
from studio.ui.status import idle_page_html, status_html
from studio.ui.translations import UI


class ResultPanel:
    """Status, the clip, its download, the chaining actions and copy-as-code, for one tab."""

    def __init__(self, prefix: str) -> None:
        self.status = gr.HTML(idle_page_html(), elem_id=f"{prefix}_status")
        self.video = gr.Video(
            label=UI("ui.result"), elem_id=f"{prefix}_video", interactive=False, autoplay=True, loop=True, height=420
        )
        self.download = gr.DownloadButton(
            UI("ui.download_mp4"),  # type: ignore[arg-type]  # a label key: Gradio takes it
            visible=False,
            elem_id=f"{prefix}_download",
            size="sm",
        )
        with gr.Row():
            self.to_first = gr.Button(UI("ui.to_first"), size="sm", interactive=False, elem_id=f"{prefix}_to_first")
            self.to_v2v = gr.Button(UI("ui.to_v2v"), size="sm", interactive=False, elem_id=f"{prefix}_to_v2v")
            self.to_character = gr.Button(
                UI("ui.to_character"), size="sm", interactive=False, elem_id=f"{prefix}_to_character"
            )
        self.clip = gr.State(None)  # path of this tab's latest clip
        self.generation = gr.State(None)  # and the id of the generation that made it
        self.code = gr.State(None)  # the request it sent (CodeSnippets)
        with gr.Accordion(UI("ui.copy_as_code"), open=False):
            gr.Markdown(UI("ui.copy_as_code_note"))
            self.curl = gr.Code(label="curl", language="shell", interactive=False, elem_id=f"{prefix}_curl")
            self.python = gr.Code(
                label="Python (httpx)", language="python", interactive=False, elem_id=f"{prefix}_python"
            )

    @property
    def stream_outputs(self) -> list[Any]:
        """What a generation streams into: kept small, because Gradio re-processes every output of an event on
        every update, and a progress bar updates often."""
        return [self.status, self.video, self.clip, self.generation, self.code]

    @property
    def extra_outputs(self) -> list[Any]:
        """Set once before and once after a generation (``clear`` and ``finish``)."""
        return [self.download, self.to_first, self.to_v2v, self.to_character, self.curl, self.python]

    def show(self, status: JobStatus, lang: str = "en") -> dict[Any, Any]:
        """The status, and the clip once there is one. Both visible outputs get a value on every update: Gradio
        treats an output left out of a dict as an empty update and copies the component in the visitor's session
        for it, on every progress step (see ``studio.ui.gradio_compat.keep_session_ids``)."""
        done = status.phase is Phase.SUCCEEDED and status.video is not None
        updates: dict[Any, Any] = {
            self.status: status_html(status, lang),
            self.video: str(status.video) if done else None,
        }
        if done:
            updates |= {self.clip: str(status.video), self.generation: status.generation_id}
        return updates

    def refuse(self, html: str) -> dict[Any, Any]:
        return {self.status: html, self.video: None}

    def reset(self) -> dict[Any, Any]:
        return {self.video: None, self.clip: None, self.generation: None, self.code: None}

    def clear(self) -> dict[Any, Any]:
        buttons = {b: gr.update(interactive=False) for b in (self.to_first, self.to_v2v, self.to_character)}
        return buttons | {self.download: gr.update(visible=False), self.curl: "", self.python: ""}

    def finish(self, clip: str | None, code: CodeSnippets | None) -> dict[Any, Any]:
        buttons = {b: gr.update(interactive=bool(clip)) for b in (self.to_first, self.to_v2v, self.to_character)}
        return buttons | {
            self.download: gr.update(value=clip, visible=bool(clip)),
            self.curl: code.curl if code else "",
            self.python: code.python if code else "",
        }
