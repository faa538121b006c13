"""The Storyboard tab: the visitor's shots in order, trimmed, with a cut or a crossfade between them, exported as
one video.

A storyboard is opened from any clip ("Open as storyboard": the clip's chain of Continue, in order), made new, or
picked from the visitor's own; clips are added from History. Each shot is a row: its poster and what made it, its
in and out points, the transition into the next shot, and buttons to move it up or down or remove it. Every change
is saved at once (``studio.storyboards``), so a storyboard survives a reload and a restart. Export renders it off
the event loop, with progress in the status card, and keeps the result in History.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from studio.errors import FieldIssue, InvalidInput, StudioError
from studio.i18n import Msg, localize, request_language, t
from studio.jobs import JobStatus
from studio.phases import Phase
from studio.service import Studio
from studio.storyboards import (
    FITS,
    MAX_CROSSFADE_FRAMES,
    MAX_SHOTS,
    Fit,
    Shot,
    ShotView,
    Storyboard,
    shot_label,
)
from studio.ui import gradio_compat
from studio.ui.served import Served
from studio.ui.status import idle_page_html, status_html
from studio.ui.tabs.base import Shared
from studio.ui.translations import UI

TAB_ID = "board"
QUIET: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}
CUT, CROSSFADE = "cut", "crossfade"
DEFAULT_CROSSFADE_FRAMES = 12
FIT_CHOICES = [(UI(f"ui.board_fit_{fit}"), fit) for fit in FITS]
TRANSITIONS = [(UI("ui.board_cut"), CUT), (UI("ui.board_crossfade"), CROSSFADE)]


@dataclass(frozen=True)
class ShotRow:
    """One shot's row: its card (poster, what made it, its length), trim, transition into the next, and moves."""

    group: Any
    card: Any
    start: Any
    end: Any
    transition: Any
    frames: Any
    up: Any
    down: Any
    remove: Any

    @property
    def values(self) -> list[Any]:
        return [self.start, self.end, self.transition, self.frames]

    @property
    def outputs(self) -> list[Any]:
        return [self.group, self.card, *self.values, self.up, self.down]


class StoryboardTab:
    """Built inside a ``gr.Tab``; ``tab_set`` is the page's tabs (opening a storyboard selects this one)."""

    prefix = TAB_ID

    def __init__(self, studio: Studio, shared: Shared, tab_set: Any) -> None:
        self.studio, self.shared, self.tab_set = studio, shared, tab_set
        self.boards = studio.storyboards

    # --- the page ---------------------------------------------------------------------------------------------

    def build(self) -> None:
        self.board_id = gr.State(None)
        self.shown = gr.State(())  # the shots' generation ids as the rows show them (stale once changed elsewhere)
        with gr.Row(equal_height=True, elem_id="board_bar"):
            self.choice = gradio_compat.RawDropdown(
                [], label=UI("ui.board_choice"), scale=3, min_width=180, elem_id="board_choice"
            )
            self.name = gr.Textbox(label=UI("ui.board_name"), max_lines=1, scale=3, min_width=160, elem_id="board_name")
            self.new = gr.Button(UI("ui.board_new"), size="sm", scale=0, min_width=90, elem_id="board_new")
            self.delete = gr.Button(
                UI("ui.board_delete"),
                size="sm",
                variant="stop",
                scale=0,
                min_width=90,
                interactive=False,  # until there is a storyboard
                elem_id="board_delete",
            )
        with gr.Row(elem_classes="rs-columns"):
            with gr.Column(scale=3, min_width=320, elem_id="board_shots"):
                self.empty = gr.Markdown(UI("ui.board_empty"), elem_id="board_empty", elem_classes="rs-note")
                self.rows = [self._row(i) for i in range(MAX_SHOTS)]
                with gr.Row(equal_height=True, elem_id="board_add_row"):
                    self.add_choice = gradio_compat.RawDropdown(
                        [], label=UI("ui.board_add_clip"), scale=4, min_width=200, elem_id="board_add_choice"
                    )
                    self.add = gr.Button(UI("ui.board_add"), size="sm", scale=0, min_width=110, elem_id="board_add")
            with gr.Column(scale=2, min_width=300, elem_id="board_result", elem_classes="rs-result"):
                self.fit = gradio_compat.RawRadio(
                    FIT_CHOICES, value="crop", label=UI("ui.board_fit"), elem_id="board_fit"
                )
                self.summary = gr.Markdown(elem_id="board_summary")
                self.export = gr.Button(  # until there are shots
                    UI("ui.board_export"), variant="primary", interactive=False, elem_id="board_export"
                )
                self.status = gr.HTML(idle_page_html("ui.board_idle"), elem_id="board_status")
                self.video = gradio_compat.ServedVideo(
                    label=UI("ui.board_exported"), interactive=False, elem_id="board_video"
                )
                self.download = gradio_compat.ServedDownload(
                    UI("ui.download_mp4"),  # type: ignore[arg-type]  # a label key: Gradio takes it
                    visible=False,
                    size="sm",
                    elem_id="board_download",
                )

    def _row(self, index: int) -> ShotRow:
        with gr.Group(visible=False, elem_classes="rs-shot", elem_id=f"board_shot_{index}") as group:
            with gr.Row(equal_height=True, elem_classes="rs-shot-top"):
                card = gr.HTML(elem_classes="rs-shot-card", elem_id=f"board_card_{index}")
                moves = {"size": "sm", "scale": 0, "min_width": 40}
                up = gr.Button("↑", elem_id=f"board_up_{index}", **moves)  # type: ignore[arg-type]
                down = gr.Button("↓", elem_id=f"board_down_{index}", **moves)  # type: ignore[arg-type]
                remove = gr.Button("✕", elem_id=f"board_remove_{index}", **moves)  # type: ignore[arg-type]
            with gr.Row(equal_height=True, elem_classes="rs-shot-trim"):
                start = gradio_compat.RawNumber(
                    label=UI("ui.board_in"), minimum=0, step=0.1, min_width=90, elem_id=f"board_in_{index}"
                )
                end = gradio_compat.RawNumber(
                    label=UI("ui.board_out"), minimum=0, step=0.1, min_width=90, elem_id=f"board_out_{index}"
                )
                transition = gradio_compat.RawRadio(
                    TRANSITIONS, value=CUT, label=UI("ui.board_into_next"), min_width=160, elem_id=f"board_tr_{index}"
                )
                frames = gradio_compat.RawNumber(
                    label=UI("ui.board_frames"),
                    minimum=1,
                    maximum=MAX_CROSSFADE_FRAMES,
                    precision=0,
                    min_width=80,
                    elem_id=f"board_frames_{index}",
                )
        return ShotRow(group, card, start, end, transition, frames, up, down, remove)

    # --- what the events set ----------------------------------------------------------------------------------

    @property
    def board_outputs(self) -> list[Any]:
        """What showing a storyboard sets."""
        rows = [c for r in self.rows for c in r.outputs]
        return [
            self.board_id,
            self.shown,
            self.choice,
            self.name,
            self.empty,
            self.fit,
            self.summary,
            self.add_choice,
            self.delete,
            self.export,
            *rows,
        ]

    @property
    def open_outputs(self) -> list[Any]:
        """What opening a storyboard from elsewhere sets (this tab is selected too)."""
        return [*self.board_outputs, self.tab_set]

    async def _shown(self, board: Storyboard | None, visitor: str, request: gr.Request) -> dict[Any, Any]:
        lang = request_language(request)
        boards = await self.boards.of(visitor)
        choices = [(b.name, b.id) for b in boards]
        clips = await self._clips(visitor, lang)
        updates: dict[Any, Any] = {
            self.board_id: board.id if board else None,
            self.shown: _ids(board),
            self.choice: gr.update(choices=choices, value=board.id if board else None),
            self.name: gr.update(value=board.name if board else "", interactive=board is not None),
            self.add_choice: gr.update(choices=clips, value=None),
            self.fit: board.fit if board else "crop",
        }
        views = await self.boards.views(board) if board else []
        updates[self.empty] = gr.update(visible=not views)
        # Nothing to delete or export: the buttons say so rather than answering with an error.
        updates[self.delete] = gr.update(interactive=board is not None)
        updates[self.export] = gr.update(interactive=bool(views))
        updates[self.summary] = self._summary(views, lang, await self.boards.problems(views) if views else [])
        link = Served(self.studio.links, request).href
        for index, row in enumerate(self.rows):
            if index >= len(views):
                updates[row.group] = gr.update(visible=False)
                continue
            view = views[index]
            last = index == len(views) - 1
            fading = view.shot.crossfade_frames > 0
            updates |= {
                row.group: gr.update(visible=True),
                row.card: _card_html(index, view, lang, link),
                row.start: view.shot.in_s,
                row.end: view.shot.out_s if view.shot.out_s is not None else view.clip_seconds,
                row.transition: gr.update(value=CROSSFADE if fading else CUT, visible=not last),
                row.frames: gr.update(
                    value=view.shot.crossfade_frames if fading else DEFAULT_CROSSFADE_FRAMES,
                    visible=not last and fading,
                ),
                row.up: gr.update(interactive=index > 0),
                row.down: gr.update(interactive=not last),
            }
        return updates

    async def _clips(self, visitor: str, lang: str) -> list[tuple[str, str]]:
        """The visitor's finished clips, newest first, as the "Add a clip" choices."""
        from studio.ui.gallery import title

        mine = await self.studio.history_of(visitor)
        return [(title(g, lang), g.id) for g in mine if g.status == Phase.SUCCEEDED and g.output_path]

    def _summary(self, views: Sequence[ShotView], lang: str, problems: Sequence[FieldIssue] = ()) -> str:
        """The shots' count and length, then what would stop the export (each naming its shot)."""
        if not views:
            return ""
        seconds = sum(
            max(0.0, (v.shot.out_s if v.shot.out_s is not None else v.clip_seconds or 0.0) - v.shot.in_s)
            for v in views
            if not v.gone
        )
        text = t(lang, "board.summary", shots=len(views), seconds=seconds)
        return "\n\n".join([text, *(f"⚠ {localize(issue, lang)}" for issue in problems)])

    # --- handlers -----------------------------------------------------------------------------------------------

    def _visitor(self, token: str | None, request: gr.Request) -> str:
        return self.shared.visitor_of(token, request)

    async def _board(self, board_id: str | None, visitor: str, lang: str) -> Storyboard:
        board = await self.boards.get(board_id, visitor=visitor)
        if board is None:
            raise gr.Error(t(lang, "board.choose_first"))
        return board

    async def refresh(self, board_id: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        """The tab opened (or the page did): the storyboard shown, else the visitor's latest."""
        visitor = self._visitor(token, request)
        board = await self.boards.get(board_id, visitor=visitor)
        if board is None:
            board = next(iter(await self.boards.of(visitor)), None)
        return await self._shown(board, visitor, request)

    async def pick(self, chosen: Any, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor = self._visitor(token, request)
        board = await self._board(str(chosen or ""), visitor, request_language(request))
        return await self._shown(board, visitor, request)

    async def create(self, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor = self._visitor(token, request)
        return await self._shown(await self.boards.create(visitor), visitor, request)

    async def rename(self, board_id: str | None, name: Any, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor, lang = self._visitor(token, request), request_language(request)
        board = await self._board(board_id, visitor, lang)
        try:
            board = await self.boards.rename(board, str(name or ""))
        except InvalidInput as err:
            raise gr.Error(localize(err, lang)) from None
        return await self._shown(board, visitor, request)

    async def remove_board(self, board_id: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor, lang = self._visitor(token, request), request_language(request)
        board = await self._board(board_id, visitor, lang)
        await self.boards.delete(board.id, visitor=visitor)
        gr.Info(t(lang, "board.deleted", name=board.name))
        return await self._shown(next(iter(await self.boards.of(visitor)), None), visitor, request)

    async def add_clip(self, board_id: str | None, clip: Any, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor, lang = self._visitor(token, request), request_language(request)
        if not clip:
            raise gr.Error(t(lang, "board.pick_clip"))
        board = await self.boards.get(board_id, visitor=visitor) or await self.boards.create(visitor)
        try:
            board = await self.boards.add_shot(board, str(clip))
        except InvalidInput as err:
            raise gr.Error(localize(err, lang)) from None
        return await self._shown(board, visitor, request)

    async def open_lineage(self, generation_id: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        """ "Open as storyboard" on a clip: a new storyboard of its chain (an export's: its own storyboard again)."""
        visitor, lang = self._visitor(token, request), request_language(request)
        found = await self.studio.generation(generation_id or "", visitor=visitor)
        if found is None:
            raise gr.Error(t(lang, "history.no_clip"))
        try:
            board = await self.boards.reopen(found) or await self.boards.from_lineage(visitor, found.id)
        except InvalidInput as err:
            raise gr.Error(localize(err, lang)) from None
        return await self._shown(board, visitor, request) | {self.tab_set: gr.Tabs(selected=TAB_ID)}

    async def edit(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """A trim, a transition or the fit changed: saved at once. Says what does not fit its clip."""
        visitor, lang = self._visitor(data.get(self.shared.visitor_token), request), request_language(request)
        board = await self.boards.get(data.get(self.board_id), visitor=visitor)
        if board is None:
            return {}
        if _ids(board) != tuple(data.get(self.shown) or ()):  # changed meanwhile (a Continue, another tab)
            gr.Info(t(lang, "board.changed"))
            return await self._shown(board, visitor, request)
        try:
            board = replace(board, shots=tuple(self._read_shots(board, data, lang)), fit=_fit(data.get(self.fit), lang))
        except InvalidInput as err:
            raise gr.Error(localize(err, lang)) from None
        board = await self.boards.save(board)
        views = await self.boards.views(board)
        updates: dict[Any, Any] = {self.summary: self._summary(views, lang, await self.boards.problems(views))}
        for index, row in enumerate(self.rows[: len(views)]):
            fading = board.shots[index].crossfade_frames > 0
            updates[row.frames] = gr.update(visible=index < len(views) - 1 and fading)
        return updates

    def _read_shots(self, board: Storyboard, data: dict[Any, Any], lang: str) -> list[Shot]:
        shots: list[Shot] = []
        issues: list[FieldIssue] = []
        for index, (shot, row) in enumerate(zip(board.shots, self.rows)):
            label = shot_label(index)
            start, end = _seconds(data.get(row.start), label, "In"), _seconds(data.get(row.end), label, "Out")
            frames: int | None = 0
            if data.get(row.transition) == CROSSFADE:
                frames = _frames(data.get(row.frames))
            elif data.get(row.transition) not in (CUT, None):
                issues.append(FieldIssue(label, Msg("board.bad_transition", shot=label)))
            problems = [p for p in (start, end) if isinstance(p, FieldIssue)]
            if problems or frames is None:
                issues += problems or [
                    FieldIssue(label, Msg("board.bad_frames", shot=label, most=MAX_CROSSFADE_FRAMES))
                ]
                continue
            assert not isinstance(start, FieldIssue) and not isinstance(end, FieldIssue)
            shots.append(replace(shot, in_s=start or 0.0, out_s=end, crossfade_frames=frames or 0))
        if issues:
            raise InvalidInput(issues)
        return shots

    async def move(self, index: int, step: int, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Move shot ``index`` by ``step`` (-1 up, +1 down), or remove it (``step`` 0)."""
        visitor, lang = self._visitor(data.get(self.shared.visitor_token), request), request_language(request)
        board = await self._board(data.get(self.board_id), visitor, lang)
        shots = list(board.shots)
        if _ids(board) != tuple(data.get(self.shown) or ()):  # changed meanwhile: show it again, move nothing
            gr.Info(t(lang, "board.changed"))
            return await self._shown(board, visitor, request)
        if index >= len(shots):
            return {}
        if step == 0:
            del shots[index]
        else:
            other = index + step
            if not 0 <= other < len(shots):
                return {}
            shots[index], shots[other] = shots[other], shots[index]
        board = await self.boards.save(board.with_shots(shots))
        return await self._shown(board, visitor, request)

    async def run_export(self, data: dict[Any, Any], request: gr.Request) -> Any:
        """Render the storyboard, the status card following the frames written; then the video, kept in History."""
        visitor, lang = self._visitor(data.get(self.shared.visitor_token), request), request_language(request)
        board = await self._board(data.get(self.board_id), visitor, lang)
        started = time.monotonic()

        def card(phase: Phase, message: Msg, progress: float | None) -> str:
            status = JobStatus(phase, message, elapsed_s=time.monotonic() - started, progress=progress)
            return status_html(status, lang)

        yield {
            self.status: card(Phase.PREPARING, Msg("board.checking"), None),
            self.export: gr.update(interactive=False),
        }
        try:
            async for step in self.boards.export(board.id, visitor=visitor):
                if step.generation is None:
                    yield {self.status: card(Phase.RUNNING, Msg("board.exporting"), step.fraction)}
                    continue
                served = Served(self.studio.links, request)
                clip = await self.studio.download_path(step.generation.id, visitor=visitor)
                file = served.file(str(clip) if clip else None)
                seconds = step.generation.output_seconds
                yield {
                    self.status: card(Phase.SUCCEEDED, Msg("board.exported", seconds=seconds or 0), 1.0),
                    self.video: file,
                    self.download: gr.update(value=file, visible=file is not None),
                    self.export: gr.update(interactive=True),
                }
        except Exception as err:  # the visitor reads a plain message; the log has the rest
            yield {
                self.status: card(Phase.FAILED, Msg("board.not_exported"), None),
                self.export: gr.update(interactive=True),
            }
            problem = err if isinstance(err, StudioError) else Msg("board.export_failed")
            raise gr.Error(localize(problem, lang)) from None

    # --- wiring -------------------------------------------------------------------------------------------------

    def wire(self, tab: Any, arrived: Any) -> None:
        token = self.shared.visitor_token
        shown = self.board_outputs
        tab.select(self.refresh, [self.board_id, token], shown, **QUIET)
        arrived.then(self.refresh, [self.board_id, token], shown, **QUIET)
        self.choice.input(self.pick, [self.choice, token], shown, **QUIET)
        self.new.click(self.create, [token], shown, **QUIET)
        self.name.submit(self.rename, [self.board_id, self.name, token], shown, **QUIET)
        self.name.blur(self.rename, [self.board_id, self.name, token], shown, **QUIET)
        self.delete.click(self.remove_board, [self.board_id, token], shown, **QUIET)
        self.add.click(self.add_clip, [self.board_id, self.add_choice, token], shown, **QUIET)
        inputs = {self.board_id, self.shown, token, self.fit, *(c for r in self.rows for c in r.values)}
        edited = shown
        self.fit.input(self.edit, inputs, edited, trigger_mode="always_last", **QUIET)
        for index, row in enumerate(self.rows):
            for control in row.values:
                control.input(self.edit, inputs, edited, trigger_mode="always_last", **QUIET)
            for button, step in ((row.up, -1), (row.down, 1), (row.remove, 0)):

                async def moved(data: dict[Any, Any], request: gr.Request, i: int = index, s: int = step) -> Any:
                    return await self.move(i, s, data, request)

                button.click(moved, inputs, shown, **QUIET)
        self.export.click(
            self.run_export,
            inputs,
            [self.status, self.video, self.download, self.export],
            show_progress="hidden",
            api_name="export_storyboard",
        )


def _ids(board: Storyboard | None) -> tuple[str, ...]:
    return tuple(s.generation_id for s in board.shots) if board else ()


def _card_html(index: int, view: ShotView, lang: str, link: Any) -> str:
    from studio.ui.gallery import title

    label = html.escape(t(lang, "board.shot", n=index + 1))
    if view.gone or view.generation is None:
        note = html.escape(t(lang, "board.clip_gone_note"))
        return f'<div class="rs-shot-head rs-shot-gone"><strong>{label}</strong><span>{note}</span></div>'
    g = view.generation
    poster = link(g.poster_path) if g.poster_path else ""
    image = f'<img src="{html.escape(poster)}" alt="" loading="lazy">' if poster else ""
    what = html.escape(title(g, lang))
    length = html.escape(t(lang, "board.clip_length", seconds=view.clip_seconds or 0))
    return (
        f'<div class="rs-shot-head">{image}<div><strong>{label}</strong> · <span>{html.escape(g.model)}</span>'
        f'<div class="rs-shot-what">{what}</div><small>{length}</small></div></div>'
    )


def _seconds(value: Any, shot: str, point: str) -> float | None | FieldIssue:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0 or seconds != seconds or seconds > 3600:
        return FieldIssue(f"{shot} {point}", Msg("board.bad_seconds", shot=shot, point=point, value=str(value)[:20]))
    return seconds


def _frames(value: Any) -> int | None:
    try:
        frames = int(float(value))
    except (TypeError, ValueError):
        return None
    return frames if 1 <= frames <= MAX_CROSSFADE_FRAMES else None


def _fit(value: Any, lang: str) -> Fit:
    if value in FITS:
        return value  # type: ignore[no-any-return]
    raise InvalidInput(FieldIssue("Fit", Msg("board.bad_fit", allowed=", ".join(FITS))))
