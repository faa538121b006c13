"""The History tab: the visitor's own generations as a gallery, a page at a time, newest first.

Filters (tab, model, status, words of the prompt, starred only) narrow the list; a tile shows the date, the tab,
the model and the star, and a live progress ring while the generation runs. Beside the grid (under it on a phone)
the chosen generation: play, download under a readable name, "Reuse settings", the chaining actions with the
lineage shown, and Delete, which hides it at once and offers Undo for a few seconds. Ticking "Compare" on 2 to 4
tiles plays those clips side by side, in step, with the settings that differ between them.

The grid is server-rendered HTML (``studio.ui.gallery``); ``assets/history.js`` turns clicks on its tiles into the
grid's ``pick``, ``star`` and ``mark`` events, each carrying the generation's id. Every handler goes through the
service with the visitor (``Shared.visitor_of``), which checks the owner: an id from elsewhere finds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr

from studio.history import HistoryFilter
from studio.i18n import Msg, request_language, t
from studio.service import COMPARE_MAX, Studio
from studio.storyboards import ENDPOINT as STORYBOARD
from studio.ui import gallery, gradio_compat
from studio.ui.result_panel import chain_buttons
from studio.ui.served import Served
from studio.ui.tabs.base import GenerationTab, Shared
from studio.ui.tabs.storyboard import StoryboardTab
from studio.ui.translations import UI

TAB_ID = "history"
ALL = "all"  # a filter's "any" choice
STATUS_CHOICES = [
    (UI("ui.history_all_statuses"), ALL),
    (UI("ui.history_running"), "running"),
    (UI("ui.history_succeeded"), "succeeded"),
    (UI("ui.history_failed"), "failed"),
    (UI("ui.history_cancelled"), "cancelled"),
]
# The grid's events: assets/history.js calls these with {id, on} (Gradio finds the event names in this string).
GRID_JS = (
    "window.rsHistoryGrid(element, {pick: (d) => trigger('pick', d), star: (d) => trigger('star', d),"
    " mark: (d) => trigger('mark', d)});"
)
COMPARE_JS = "window.rsHistoryCompare(element);"
QUIET: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}


# --- what a tile's event carries (assets/history.js sends {id, on, shown, checked}; an API caller, anything) -------

MAX_EVENT_IDS = 1000  # more ids than any page shows


def _event_value(evt: gr.EventData, name: str) -> Any:
    data = vars(evt).get("_data")  # not getattr: EventData answers a missing payload with a TypeError
    return data.get(name) if isinstance(data, dict) else None


def _refused(lang: str, name: str, expected: Msg, value: Any) -> gr.Error:
    shown: Any = Msg("history.event_missing") if value is None else repr(value)[:60]
    return gr.Error(t(lang, "history.event_field", field=name, expected=expected, value=shown))


def event_id(evt: gr.EventData, lang: str) -> str:
    """The generation id a tile's event is about; refused, naming the field, when it carries none."""
    value = _event_value(evt, "id")
    if not isinstance(value, str) or not value or len(value) > 100:
        raise _refused(lang, "id", Msg("history.expect_id"), value)
    return value


def event_ids(evt: gr.EventData, name: str, lang: str) -> list[str]:
    """A list of generation ids (``shown``, ``checked``); [] when the event has none."""
    value = _event_value(evt, name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_EVENT_IDS or not all(isinstance(v, str) for v in value):
        raise _refused(lang, name, Msg("history.expect_ids"), value)
    return list(value)


def event_flag(evt: gr.EventData, name: str, lang: str, *, default: bool) -> bool:
    value = _event_value(evt, name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _refused(lang, name, Msg("history.expect_flag"), value)
    return value


class HistoryTab:
    """Built inside a ``gr.Tab``; ``tabs`` are the generation tabs it fills and chains into."""

    def __init__(
        self, studio: Studio, shared: Shared, tabs: dict[str, GenerationTab], tab_set: gr.Tabs, board: StoryboardTab
    ) -> None:
        self.studio, self.shared, self.tabs, self.tab_set, self.board = studio, shared, tabs, tab_set, board

    def build(self) -> None:
        self._filters()
        with gr.Row(elem_id="history_bar", equal_height=True):
            self.summary = gr.Markdown(UI("ui.history_intro"), elem_id="history_summary")
            self.refresh_button = gr.Button(UI("ui.refresh"), size="sm", scale=0, elem_id="history_refresh")
        self._compare_controls()
        with gr.Row(equal_height=False, elem_id="history_body"):
            with gr.Column(scale=3, min_width=300, elem_id="history_main"):
                self.grid = gr.HTML("", js_on_load=GRID_JS, apply_default_css=False, elem_id="history_grid")
                with gr.Row(visible=False, elem_id="history_pager") as self.pager_row:
                    self.previous = gr.Button(UI("ui.previous"), size="sm", elem_id="history_previous")
                    self.pager = gr.Markdown(elem_id="history_page")
                    self.next = gr.Button(UI("ui.next"), size="sm", elem_id="history_next")
            with gr.Column(scale=2, min_width=300, elem_id="history_side"):
                self._side()
        self.page = gr.State(0)
        self.selected = gr.State(None)
        self.marked: gr.State = gr.State([])  # ids ticked for compare, in the order they were ticked
        self.pending = gr.State(None)  # the deleted generation Undo brings back
        self.clip, self.clip_parent = gr.State(None), gr.State(None)  # what a chaining action passes on
        self.timer = gr.Timer(2.0, active=False)  # ticks only while something is still running
        self.undo_timer = gr.Timer(self.studio.undo_s, active=False)  # the Undo offer's end

    def _filters(self) -> None:
        each = {tab.prefix: tab for tab in self.tabs.values()}.values()  # a tab serving several endpoints once
        tabs = [(UI("ui.history_all_tabs"), ALL)] + [
            (UI(f"ui.tab_{tab.prefix}"), ",".join(tab.endpoints)) for tab in each
        ]
        tabs.append((UI("ui.history_exports"), STORYBOARD))
        with gr.Row(elem_id="history_filters", equal_height=True):
            self.search = gr.Textbox(
                label=UI("ui.history_search"),
                placeholder=UI("ui.history_search_placeholder"),
                max_lines=1,
                scale=2,
                min_width=160,
                elem_id="history_search",
            )
            self.tab_filter = gradio_compat.ChoiceDropdown(
                tabs, value=ALL, label=UI("ui.history_tab_filter"), min_width=140, elem_id="history_tab_filter"
            )
            self.model_filter = gradio_compat.ChoiceDropdown(
                [(UI("ui.history_all_models"), ALL)],
                value=ALL,
                label=UI("ui.model"),
                min_width=140,
                elem_id="history_model_filter",
            )
            self.status_filter = gradio_compat.ChoiceDropdown(
                STATUS_CHOICES,
                value=ALL,
                label=UI("ui.history_status_filter"),
                min_width=140,
                elem_id="history_status_filter",
            )
            self.starred_only = gr.Checkbox(
                False, label=UI("ui.history_starred_only"), min_width=140, elem_id="history_starred_only"
            )

    def _compare_controls(self) -> None:
        with gr.Row(visible=False, equal_height=True, elem_id="history_marks") as self.marks_bar:
            self.marks_text = gr.Markdown(elem_id="history_marks_text")
            self.compare_button = gr.Button(
                UI("ui.compare"), size="sm", variant="primary", scale=0, elem_id="history_compare"
            )
            self.clear_marks = gr.Button(UI("ui.clear_selection"), size="sm", scale=0, elem_id="history_clear_marks")
        with gr.Column(visible=False, elem_id="history_compare_panel") as self.compare_panel:
            self.compare_view = gr.HTML(
                "", js_on_load=COMPARE_JS, apply_default_css=False, elem_id="history_compare_view"
            )
            self.close_compare = gr.Button(UI("ui.close_compare"), size="sm", elem_id="history_close_compare")

    def _side(self) -> None:
        with gr.Row(visible=False, equal_height=True, elem_id="history_undo") as self.undo_bar:
            self.undo_text = gr.Markdown(elem_id="history_undo_text")
            self.undo = gr.Button(UI("ui.undo"), size="sm", variant="primary", scale=0, elem_id="history_undo_button")
        self.placeholder = gr.Markdown(UI("ui.history_pick"), elem_id="history_placeholder")
        with gr.Column(visible=False, elem_id="history_detail") as self.detail:
            self.video = gradio_compat.ServedVideo(label=UI("ui.clip"), interactive=False, elem_id="history_video")
            self.details = gr.Markdown(elem_id="history_details")
            with gr.Row():
                self.download = gradio_compat.ServedDownload(
                    UI("ui.download_mp4"),  # type: ignore[arg-type]  # a label key: Gradio takes it
                    size="sm",
                    elem_id="history_download",
                )
                self.audio_download = gradio_compat.ServedDownload(
                    UI("ui.download_audio"),  # type: ignore[arg-type]  # a label key: Gradio takes it
                    size="sm",
                    visible=False,
                    elem_id="history_audio_download",
                )
                self.reuse = gr.Button(UI("ui.reuse"), size="sm", variant="primary", elem_id="history_reuse")
                self.reopen = gr.Button(  # Reuse for a storyboard's export
                    UI("ui.board_reopen"), size="sm", variant="primary", visible=False, elem_id="history_reopen"
                )
            self.chains = chain_buttons("history")
            with gr.Row(elem_id="history_danger"):  # away from Reuse; a delete can be undone
                self.delete = gr.Button(UI("ui.delete"), size="sm", variant="stop", scale=0, elem_id="history_delete")

    # --- what the events read and write -------------------------------------------------------------------------

    @property
    def inputs(self) -> set[Any]:
        return {
            self.shared.visitor_token,
            self.page,
            self.selected,
            self.marked,
            self.pending,
            self.search,
            self.tab_filter,
            self.model_filter,
            self.status_filter,
            self.starred_only,
        }

    @property
    def view_outputs(self) -> list[Any]:
        """What a refresh of the list sets (the grid first and the summary second: the API's /history reads so)."""
        return [self.grid, self.summary, self.pager_row, self.pager, self.previous, self.next, self.timer, self.page]

    @property
    def detail_outputs(self) -> list[Any]:
        return [
            self.detail,
            self.placeholder,
            self.selected,
            self.video,
            self.details,
            self.download,
            self.reuse,
            self.reopen,
            *self.chains.values(),
            self.audio_download,
        ]

    @property
    def mark_outputs(self) -> list[Any]:
        return [self.marked, self.marks_bar, self.marks_text, self.grid]

    @property
    def undo_outputs(self) -> list[Any]:
        return [self.pending, self.undo_bar, self.undo_text, self.undo_timer]

    def _filter(self, data: Mapping[Any, Any]) -> HistoryFilter:
        def chosen(control: Any) -> str:
            value = data.get(control)
            return "" if value in (None, ALL) else str(value)

        return HistoryFilter(
            endpoint=chosen(self.tab_filter),
            model=chosen(self.model_filter),
            status=chosen(self.status_filter),
            text=str(data.get(self.search) or ""),
            starred=bool(data.get(self.starred_only)),
        )

    # --- the list ---------------------------------------------------------------------------------------------

    async def _view(
        self,
        data: Mapping[Any, Any],
        request: gr.Request,
        *,
        page: int | None = None,
        selected: str | None = None,
        marked: list[str] | None = None,
    ) -> dict[Any, Any]:
        """The grid and the lines around it for page ``page`` (the one shown, by default); a selection still
        running is shown again, so its details follow it."""
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        where = self._filter(data)
        wanted = (data.get(self.page) or 0) if page is None else page
        found = await self.studio.history_page(visitor, where=where, page=wanted)
        shown = found.offset // found.size
        selected = data.get(self.selected) if selected is None else selected
        marked = list(data.get(self.marked) or []) if marked is None else marked
        several = gallery.pages_of(found) > 1
        updates = {
            self.grid: gallery.grid_html(
                found.items, selected=selected, marked=marked, lang=lang, link=Served(self.studio.links, request).href
            ),
            self.summary: gallery.summary_text(found, filtered=where.active, lang=lang),
            self.pager_row: gr.update(visible=several),
            self.pager: gallery.pager_text(found, lang),
            self.previous: gr.update(interactive=shown > 0),
            self.next: gr.update(interactive=shown + 1 < gallery.pages_of(found)),
            self.timer: gr.Timer(active=bool(found.running)),
            self.page: shown,
        }
        if selected and any(g.id == selected and not g.terminal for g in found.items):
            updates |= await self._show(selected, visitor, lang, request)  # keep a running selection live
        return updates

    async def refresh(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """The list as it is now (the timer's tick, while something runs)."""
        return await self._view(data, request)

    async def open(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Opening History (or Refresh): the list, the model filter's choices, and deletes past their undo window
        purged."""
        await self.studio.purge_deleted()
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        models = await self.studio.history_models(visitor)
        current = data.get(self.model_filter)
        choices = [(t(lang, "history.all_models"), ALL)] + [(m, m) for m in models]
        value = current if current in models else ALL
        return await self._view(data, request) | {self.model_filter: gr.update(choices=choices, value=value)}

    async def first_page(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """A filter changed: its first page."""
        return await self._view(data, request, page=0)

    async def previous_page(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        return await self._view(data, request, page=max(0, (data.get(self.page) or 0) - 1))

    async def next_page(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        return await self._view(data, request, page=(data.get(self.page) or 0) + 1)

    # --- a tile's events ------------------------------------------------------------------------------------------

    async def pick(self, data: dict[Any, Any], request: gr.Request, evt: gr.EventData) -> dict[Any, Any]:
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        return await self._show(event_id(evt, lang), visitor, lang, request)

    async def star(self, data: dict[Any, Any], request: gr.Request, evt: gr.EventData) -> dict[Any, Any]:
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        gid, on = event_id(evt, lang), event_flag(evt, "on", lang, default=True)
        await self.studio.star(gid, visitor=visitor, starred=on)
        return await self._view(data, request)

    async def mark(self, data: dict[Any, Any], request: gr.Request, evt: gr.EventData) -> dict[Any, Any]:
        """Tick or untick a tile for compare (at most COMPARE_MAX; only the visitor's own). The page sends which of
        its tiles are ticked (``checked`` of ``shown``): the ticks of this page are taken from it, the others kept,
        so that quick ticks never undo each other."""
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        gid = event_id(evt, lang)
        shown = set(event_ids(evt, "shown", lang) or [gid])
        checked = event_ids(evt, "checked", lang)
        if not checked and event_flag(evt, "on", lang, default=False):
            checked = [gid]  # an older page sends only the one it ticked
        before = list(data.get(self.marked) or [])
        marked = [m for m in before if m not in shown or m in checked]
        for new in (c for c in checked if c not in marked):
            if len(marked) >= COMPARE_MAX:
                gr.Warning(t(lang, "history.compare_limit"))
                break
            if await self.studio.generation(new, visitor=visitor) is not None:
                marked.append(new)
        return self._marks(marked, lang) | await self._view(data, request, marked=marked)

    def _marks(self, marked: list[str], lang: str) -> dict[Any, Any]:
        return {
            self.marked: marked,
            self.marks_bar: gr.update(visible=bool(marked)),
            self.marks_text: t(lang, "history.marked", count=len(marked)) if marked else "",
        }

    async def clear(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        return self._marks([], request_language(request)) | await self._view(data, request, marked=[])

    async def compare(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """The ticked clips side by side, in step, with their settings diffed."""
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        comparison = await self.studio.compare(list(data.get(self.marked) or []), visitor=visitor)
        if len(comparison.generations) < 2:
            raise gr.Error(t(lang, "history.compare_need_two"))
        clips = {g.id: await self.studio.download_path(g.id, visitor=visitor) for g in comparison.generations}
        view = gallery.compare_html(
            comparison,
            {k: str(v) if v else None for k, v in clips.items()},
            lang,
            link=Served(self.studio.links, request).href,
        )
        return {self.compare_panel: gr.update(visible=True), self.compare_view: view}

    def close(self) -> dict[Any, Any]:
        return {self.compare_panel: gr.update(visible=False), self.compare_view: ""}

    # --- the chosen generation -------------------------------------------------------------------------------------

    async def _show(self, generation_id: str, visitor: str, lang: str, request: gr.Request) -> dict[Any, Any]:
        g = await self.studio.generation(generation_id, visitor=visitor)
        if g is None:
            return self._hide()
        lineage = await self.studio.lineage(generation_id, visitor=visitor)
        if g.endpoint == STORYBOARD:  # an export came from its shots, in order
            shots = [await self.studio.generation(s["generation_id"], visitor=visitor) for s in g.form["shots"]]
            lineage = [s for s in shots if s is not None] + [g]
        named = await self.studio.download_path(generation_id, visitor=visitor)
        clip = str(named) if named else None
        served = Served(self.studio.links, request).file(clip)
        audio = Served(self.studio.links, request).file(g.audio_path) if g.audio_path else None  # Add sound's
        return {
            self.detail: gr.update(visible=True),
            self.placeholder: gr.update(visible=False),
            self.selected: g.id,
            self.video: served,
            self.details: gallery.details_markdown(g, lineage, lang),
            self.download: gr.update(value=served, visible=bool(clip)),
            self.reuse: gr.update(visible=g.endpoint != STORYBOARD),
            self.reopen: gr.update(visible=g.endpoint == STORYBOARD),
            **{b: gr.update(interactive=bool(clip)) for b in self.chains.values()},
            self.audio_download: gr.update(value=audio, visible=bool(audio)),
        }

    def _hide(self) -> dict[Any, Any]:
        return {self.detail: gr.update(visible=False), self.placeholder: gr.update(visible=True), self.selected: None}

    async def do_reuse(self, selected: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        reuse = await self.studio.reuse(selected or "", visitor=self.shared.visitor_of(token, request))
        if reuse is None:
            raise gr.Error(t(request_language(request), "history.choose_first"))
        tab = self.tabs[reuse.endpoint]
        return tab.fill(reuse.form) | {self.tab_set: gr.Tabs(selected=tab.prefix)}

    async def reuse_board(self, selected: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        """Reuse on a storyboard's export: the storyboard again, in its tab."""
        return await self.board.open_lineage(selected, token, request)

    async def do_delete(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Hide the chosen generation at once and offer Undo; a previous delete still on offer is purged now."""
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        earlier = data.get(self.pending)
        if earlier:  # its Undo is replaced by this one's: it goes for good now
            await self.studio.purge_deleted(visitor=visitor, generation_id=earlier, at_once=True)
        deleted = await self.studio.delete(data.get(self.selected) or "", visitor=visitor)
        if deleted is None:
            raise gr.Error(t(lang, "history.choose_first"))
        marked = [m for m in data.get(self.marked) or [] if m != deleted.id]
        text = t(lang, "history.deleted", title=gallery.title(deleted, lang), seconds=self.studio.undo_s)
        return (
            self._hide()
            | self._marks(marked, lang)
            | {
                self.pending: deleted.id,
                self.undo_bar: gr.update(visible=True),
                self.undo_text: text,
                self.undo_timer: gr.Timer(value=self.studio.undo_s, active=True),
            }
            | await self._view(data, request, selected="", marked=marked)
        )

    async def do_undo(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Bring the deleted generation back, and show it again."""
        visitor, lang = self.shared.visitor_of(data.get(self.shared.visitor_token), request), request_language(request)
        gid = data.get(self.pending) or ""
        if not await self.studio.restore(gid, visitor=visitor):
            raise gr.Error(t(lang, "history.too_late"))
        shown = await self._show(gid, visitor, lang, request)
        return self._undo_closed() | shown | await self._view(data, request, selected=gid)

    async def undo_expired(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """The Undo offer ran out: the delete is purged now (row and files)."""
        gid = data.get(self.pending)
        if gid:
            visitor = self.shared.visitor_of(data.get(self.shared.visitor_token), request)
            left = await self.studio.undo_left(gid, visitor=visitor)
            if left:  # the timer ran on an earlier delete's schedule: wait for the end of this one's offer
                return {self.undo_timer: gr.Timer(value=left, active=True)}
            await self.studio.purge_deleted(visitor=visitor, generation_id=gid)
        return self._undo_closed()

    def _undo_closed(self) -> dict[Any, Any]:
        return {
            self.pending: None,
            self.undo_bar: gr.update(visible=False),
            self.undo_text: "",
            self.undo_timer: gr.Timer(active=False),
        }

    async def clip_of(self, selected: str | None, token: str | None, request: gr.Request) -> tuple[str, str]:
        g = await self.studio.generation(selected or "", visitor=self.shared.visitor_of(token, request))
        if g is None or not await self.studio.local_file(g.output_path):  # from the shared store if need be
            raise gr.Error(t(request_language(request), "history.no_clip"))
        return str(g.output_path), g.id

    # --- wiring -------------------------------------------------------------------------------------------------

    def wire(self, tab: Any) -> None:
        inputs = self.inputs
        listed = self.view_outputs + self.detail_outputs
        tab.select(self.open, inputs, [*listed, self.model_filter], queue=False, **QUIET)
        self.refresh_button.click(
            self.open, inputs, [*listed, self.model_filter], show_progress="hidden", api_name="history"
        )
        self.timer.tick(self.refresh, inputs, listed, **QUIET)
        for control in (self.search, self.tab_filter, self.model_filter, self.status_filter, self.starred_only):
            control.input(self.first_page, inputs, listed, trigger_mode="always_last", **QUIET)
        self.search.submit(self.first_page, inputs, listed, **QUIET)
        self.previous.click(self.previous_page, inputs, listed, **QUIET)
        self.next.click(self.next_page, inputs, listed, **QUIET)

        reveal = "() => window.rsHistoryReveal('#history_side', false, '#history_details')"
        self.grid.pick(self.pick, inputs, self.detail_outputs, **QUIET).then(None, js=reveal)
        self.grid.star(self.star, inputs, listed, **QUIET)
        self.grid.mark(self.mark, inputs, [*self.mark_outputs, *listed], **QUIET)
        self.clear_marks.click(self.clear, inputs, [*self.mark_outputs, *listed], **QUIET)
        self.compare_button.click(self.compare, inputs, [self.compare_panel, self.compare_view], **QUIET).then(
            None, js="() => window.rsHistoryReveal('#history_compare_panel', true)"
        )
        self.close_compare.click(self.close, None, [self.compare_panel, self.compare_view], **QUIET)

        each = {t.prefix: t for t in self.tabs.values()}.values()  # a tab serving several endpoints once
        targets = [c for t in each for c in t.bindings.targets()] + [self.tab_set]
        self.reuse.click(self.do_reuse, [self.selected, self.shared.visitor_token], targets)
        self.reopen.click(self.reuse_board, [self.selected, self.shared.visitor_token], self.board.open_outputs)
        every = [*self.mark_outputs, *listed, *self.undo_outputs]
        self.delete.click(self.do_delete, inputs, every, **QUIET)
        self.undo.click(self.do_undo, inputs, every, **QUIET)
        self.undo_timer.tick(self.undo_expired, inputs, self.undo_outputs, **QUIET)
