"""The result side of a generation tab: the status card, the takes side by side (each with its own status and
clip), and what can be done with the chosen take: download it, chain it into another tab, copy it as code.

The previous clips stay on screen while a new generation runs; each take's clip is replaced when its new one
arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from studio.codegen import CodeSnippets
from studio.jobs import JobStatus
from studio.links import FileLinks
from studio.phases import Phase
from studio.service import MAX_TAKES
from studio.ui import gradio_compat
from studio.ui.served import Served
from studio.ui.status import idle_page_html, status_html, takes_status
from studio.ui.translations import UI

# Per take: (its clip's path or None, its generation's id, its copy-as-code or None)
Takes = tuple[tuple[str | None, str | None, CodeSnippets | None], ...]

# What can be done with a clip, on every result and in History (labels ``ui.<name>``; ``studio.ui.app`` wires
# them): continue the shot, send it to another tab, open its chain as a storyboard.
OPEN_BOARD = "to_board"
CHAIN_BUTTONS = ("continue", "to_v2v", "to_character", "to_finish", OPEN_BOARD)


def chain_buttons(prefix: str, *, interactive: bool = True) -> dict[str, Any]:
    """The chaining actions' buttons, in a row of their own (elem ids ``<prefix>_<name>``)."""
    with gr.Row(elem_classes="rs-chain"):
        return {
            name: gr.Button(UI(f"ui.{name}"), size="sm", interactive=interactive, elem_id=f"{prefix}_{name}")
            for name in CHAIN_BUTTONS
        }


@dataclass(frozen=True)
class TakeSlot:
    """Where one take shows: its box, its own status card (when there are several takes) and its clip."""

    box: Any
    card: Any
    video: Any


class ResultPanel:
    """The status card, up to ``MAX_TAKES`` takes, and the actions on the chosen take, for one tab."""

    def __init__(self, prefix: str, *, links: FileLinks) -> None:
        self.prefix = prefix
        self.links = links  # clips are shown and downloaded through the studio's own signed links
        self.status = gr.HTML(idle_page_html(), elem_id=f"{prefix}_status")
        slots = []
        with gr.Row(elem_classes="rs-takes", equal_height=False):
            for index in range(MAX_TAKES):
                name = f"{prefix}_video" if index == 0 else f"{prefix}_video_{index + 1}"
                with gr.Column(visible=False, min_width=200, elem_classes="rs-take-slot") as box:
                    card = gr.HTML(visible=False, elem_id=f"{prefix}_take{index + 1}_status")
                    video = gradio_compat.ServedVideo(
                        label=UI("ui.result"),
                        show_label=False,
                        elem_id=name,
                        interactive=False,
                        autoplay=index == 0,
                        loop=True,
                    )
                slots.append(TakeSlot(box, card, video))
        self.slots = slots
        self.video = slots[0].video
        with gr.Row(elem_classes="rs-take-actions"):
            self.take = gradio_compat.ChoiceRadio(
                [(f"{index + 1}", index) for index in range(MAX_TAKES)],
                value=0,
                label=UI("ui.take_choice"),
                visible=False,
                elem_id=f"{prefix}_take",
                scale=2,
                min_width=150,
            )
            self.take.none_allowed = True  # none chosen yet: the first take's actions
            self.download = gradio_compat.ServedDownload(
                UI("ui.download_mp4"),  # type: ignore[arg-type]  # a label key: Gradio takes it
                visible=False,
                elem_id=f"{prefix}_download",
                size="sm",
                scale=1,
                min_width=90,
            )
            # Keep stars the take (History's "Starred only" finds it); Discard deletes it, with Undo for a while.
            self.keep = gr.Button(
                UI("ui.keep"), size="sm", visible=False, elem_id=f"{prefix}_keep", scale=1, min_width=80
            )
            self.unkeep = gr.Button(
                UI("ui.kept"), size="sm", visible=False, elem_id=f"{prefix}_kept", scale=1, min_width=80
            )
            self.discard = gr.Button(
                UI("ui.discard"), size="sm", visible=False, elem_id=f"{prefix}_discard", scale=1, min_width=80
            )
        with gr.Row(visible=False, elem_classes="rs-undo", equal_height=True) as self.undo_bar:
            self.undo_text = gr.Markdown(elem_id=f"{prefix}_undo_text")
            self.undo = gr.Button(UI("ui.undo"), size="sm", scale=0, min_width=90, elem_id=f"{prefix}_undo")
        self.kept = gr.State(())  # the ids of the takes kept (starred) on this panel
        self.discarded = gr.State(None)  # (slot index, the take) while its discard can be undone
        self.chains = chain_buttons(prefix, interactive=False)
        # The chosen take's clip, generation and request (what the actions use), and every take's.
        self.clip = gr.State(None)
        self.generation = gr.State(None)
        self.code = gr.State(None)
        self.takes = gr.State(())  # per take: (clip path or None, generation id, CodeSnippets or None)
        with gr.Accordion(UI("ui.copy_as_code"), open=False, elem_classes="rs-code"):
            gr.Markdown(UI("ui.copy_as_code_note"))
            self.curl = gr.Code(label="curl", language="shell", interactive=False, elem_id=f"{prefix}_curl")
            self.python = gr.Code(
                label="Python (httpx)", language="python", interactive=False, elem_id=f"{prefix}_python"
            )

    @property
    def stream_outputs(self) -> list[Any]:
        """What a generation streams into."""
        return [
            self.status,
            *(s.video for s in self.slots),  # the first take's clip is the API's second output
            *(c for s in self.slots for c in (s.box, s.card)),
            self.clip,
            self.generation,
            self.code,
            self.takes,
        ]

    @property
    def actions(self) -> list[Any]:
        """The buttons that act on the chosen take."""
        return [self.download, *self.chains.values(), self.keep, self.unkeep, self.discard]

    @property
    def extra_outputs(self) -> list[Any]:
        """Set before a generation (``clear``)."""
        return [self.take, *self.actions, self.curl, self.python]

    @property
    def choice_outputs(self) -> list[Any]:
        """What follows the chosen take (``choose``)."""
        return [self.clip, self.generation, self.code, *self.actions]

    @property
    def finish_outputs(self) -> list[Any]:
        """Set after a generation (``finish``)."""
        return [self.take, *self.choice_outputs, self.curl, self.python, self.kept]

    def show(
        self,
        statuses: list[JobStatus],
        lang: str = "en",
        *,
        codes: list[CodeSnippets | None] | None = None,
        shown: list[str | None] | None = None,
        final: bool = False,
        served: Served | None = None,
    ) -> dict[Any, Any]:
        """Every take's status, and each clip once it is there. ``shown``: the clip each slot shows now (kept until
        the take's new clip replaces it; updated in place). Only what changed is sent, so an unchanged clip is not
        processed again on every progress step. ``final``: the last update, with this run's clips only (an API
        caller reads the outcome from it; a take that failed no longer shows the clip it replaced). ``served``:
        the request's links to the clips."""
        serve = (served or Served(self.links, None)).file
        several = len(statuses) > 1
        if shown is not None and len(shown) < len(self.slots):
            shown.extend([None] * (len(self.slots) - len(shown)))
        overall = takes_status(statuses) if several else statuses[0]
        updates: dict[Any, Any] = {self.status: status_html(overall, lang)}
        takes = []
        for index, slot in enumerate(self.slots):
            status = statuses[index] if index < len(statuses) else None
            clip = str(status.video) if status and status.phase is Phase.SUCCEEDED and status.video else None
            before = shown[index] if shown is not None and index < len(shown) else None
            has_clip = clip is not None or (before is not None and not final)
            updates[slot.box] = gr.update(visible=status is not None and (several or has_clip))
            updates[slot.card] = (
                gr.update(value=status_html(status, lang, take=index + 1), visible=True)
                if status is not None and several
                else gr.update(visible=False)
            )
            if clip is not None and shown is not None and clip != before:
                updates[slot.video] = serve(clip)
                shown[index] = clip
            elif final:  # the outcome of this run: a take that made no clip shows none (the old one goes)
                updates[slot.video] = serve(clip)
            if status is not None:
                code = codes[index] if codes and index < len(codes) else None
                takes.append((clip, status.generation_id, code))
        first = next((t for t in takes if t[0]), takes[0] if takes else (None, None, None))
        updates |= {self.clip: first[0], self.generation: first[1], self.code: first[2], self.takes: tuple(takes)}
        return updates

    def refuse(self, html: str) -> dict[Any, Any]:
        return {self.status: html}

    def clear(self) -> dict[Any, Any]:
        buttons = {b: gr.update(interactive=False) for b in self.chains.values()}
        hidden = {b: gr.update(visible=False) for b in (self.download, self.keep, self.unkeep, self.discard)}
        return buttons | hidden | {self.take: gr.update(visible=False, value=0), self.curl: "", self.python: ""}

    def finish(self, takes: Takes, request: gr.Request) -> dict[Any, Any]:
        """After a generation: the first take with a clip is chosen; the take picker shows when there are several."""
        chosen = next((i for i, t in enumerate(takes) if t[0]), 0)
        return self.choose(takes, chosen, served=Served(self.links, request)) | {
            self.take: gr.update(
                visible=len(takes) > 1,
                value=chosen,
                choices=[(f"{i + 1}", i) for i in range(len(takes))],
            ),
            self.kept: (),
        }

    def on_take(self, takes: Takes, index: int | None, kept: tuple[str, ...], request: gr.Request) -> dict[Any, Any]:
        """The visitor picked take ``index``."""
        return self.choose(takes, index, kept, served=Served(self.links, request))

    def choose(
        self, takes: Takes, index: int | None, kept: tuple[str, ...] = (), *, served: Served | None = None
    ) -> dict[Any, Any]:
        """The actions now work on take ``index`` (``kept``: the takes starred here; ``served``: the request's
        links to the clips)."""
        clip, generation, code = takes[index] if takes and index is not None and index < len(takes) else (None,) * 3
        buttons = {b: gr.update(interactive=bool(clip)) for b in self.chains.values()}
        starred = generation in (kept or ())
        return buttons | {
            self.clip: clip,
            self.generation: generation,
            self.code: code,
            self.download: gr.update(value=(served or Served(self.links, None)).file(clip), visible=bool(clip)),
            self.keep: gr.update(visible=bool(clip) and not starred),
            self.unkeep: gr.update(visible=bool(clip) and starred),
            self.discard: gr.update(visible=bool(clip)),
            self.curl: code.curl if code else "",
            self.python: code.python if code else "",
        }
