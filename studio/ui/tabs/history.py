"""The History tab: the visitor's own generations, newest first, with live status for the running ones; play,
download, delete, "Reuse settings", and the chaining actions with the lineage shown."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import gradio as gr

from studio.capabilities import OPTIONS, PROVIDERS
from studio.history import Generation
from studio.i18n import Label, Message, localize, request_language, t
from studio.phases import RECORDED
from studio.requests import ENDPOINT_LABELS, LABELS, REQUEST_TYPES
from studio.service import Studio
from studio.ui.status import charge_text
from studio.ui.tabs.base import GenerationTab, Shared, visitor_of
from studio.ui.translations import UI
from studio.vault import status_poster

TAB_ID = "history"


def _status_label(status: str, lang: str) -> str:
    return t(lang, f"history.status.{status}") if status in RECORDED else status


def _caption(g: Generation, lang: str = "en") -> str:
    progress = f" {round((g.progress or 0) * 100)}%" if g.status == "running" else ""
    prompt = (g.prompt[:40] + "…") if len(g.prompt) > 40 else g.prompt
    return f"{_status_label(g.status, lang)}{progress} · {g.model} · {prompt}".rstrip(" ·")


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _tab(endpoint: str) -> Message:
    return Label(ENDPOINT_LABELS[endpoint]) if endpoint in ENDPOINT_LABELS else endpoint


# The model's own settings a generation lists (its media show as the clip; a hook URL is the host's business).
LISTED_OPTIONS = OPTIONS - {"references", "notify_hook"}


def _option_value(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return t(lang, "history.on" if value else "history.off")
    if isinstance(value, list):  # aleph2's keyframes: when each applies
        return ", ".join(
            f"{k['seconds']:g} s" if k.get("seconds") is not None else f"{k.get('at', 0):.0%}"
            for k in value
            if isinstance(k, dict)
        )
    return html.escape(str(value))


def _options(g: Generation, lang: str) -> str:
    """The optional fields this generation set, as "**Sound:** on · **Negative prompt:** blur"."""
    request = REQUEST_TYPES.get(g.endpoint)
    if request is None:
        return ""
    parts = []
    for name, field in request.model_fields.items():
        wire = field.alias or name
        value = g.form.get(name)
        if wire in LISTED_OPTIONS and value not in (None, "", []):
            parts.append(t(lang, "history.option", name=Label(LABELS[wire]), value=_option_value(value, lang)))
    return " · ".join(parts)


def _details(g: Generation, lineage: list[Generation], lang: str = "en") -> str:
    if g.actual_credits is not None:
        cost = charge_text(g.actual_credits, None, lang)
    else:
        cost = t(lang, "history.credits_estimate", credits=g.estimated_credits)
    provider = Label(PROVIDERS[g.provider].label) if g.provider in PROVIDERS else g.provider
    lines = [
        t(
            lang,
            "history.headline",
            tab=_tab(g.endpoint),
            model=g.model,
            provider=provider,
            status=_status_label(g.status, lang),
        ),
        t(lang, "history.prompt", prompt=html.escape(g.prompt) or "—"),
        _options(g, lang),
        t(lang, "history.facts", seconds=g.output_seconds or 0, cost=cost, seed=g.seed, made=_when(g.created_at)),
        t(lang, "history.task", task=g.task_id or t(lang, "history.not_created"), key_source=Label(g.key_source)),
    ]
    if g.failure_reason:
        lines.append(t(lang, "history.why_failed", reason=html.escape(localize(g.failure_message, lang))))
    if len(lineage) > 1:
        steps = " → ".join(t(lang, "history.step", tab=_tab(x.endpoint), model=x.model) for x in lineage[:-1])
        lines.append(t(lang, "history.lineage", steps=steps))
    return "\n\n".join(line for line in lines if line)


class HistoryTab:
    """Built inside a ``gr.Tab``; ``tabs`` are the generation tabs it fills and chains into."""

    def __init__(self, studio: Studio, shared: Shared, tabs: dict[str, GenerationTab], tab_set: gr.Tabs) -> None:
        self.studio, self.shared, self.tabs, self.tab_set = studio, shared, tabs, tab_set

    def build(self) -> None:
        with gr.Row():
            self.summary = gr.Markdown(UI("ui.history_intro"), elem_id="history_summary")
            self.refresh_button = gr.Button(UI("ui.refresh"), size="sm", scale=0, elem_id="history_refresh")
        self.gallery = gr.Gallery(
            label=UI("ui.your_generations"),
            columns=5,
            height="auto",
            allow_preview=False,
            object_fit="cover",
            elem_id="history_gallery",
        )
        self.ids = gr.State([])
        self.selected = gr.State(None)
        self.clip, self.clip_parent = gr.State(None), gr.State(None)  # what a chaining action passes on
        with gr.Row(visible=False, equal_height=False) as self.detail:
            with gr.Column(scale=3):
                self.video = gr.Video(label=UI("ui.clip"), interactive=False, elem_id="history_video")
            with gr.Column(scale=2):
                self.details = gr.Markdown(elem_id="history_details")
                self.download = gr.DownloadButton(
                    UI("ui.download_mp4"),  # type: ignore[arg-type]  # a label key: Gradio takes it
                    size="sm",
                    elem_id="history_download",
                )
                with gr.Row():
                    self.reuse = gr.Button(UI("ui.reuse"), size="sm", variant="primary", elem_id="history_reuse")
                    self.delete = gr.Button(UI("ui.delete"), size="sm", variant="stop", elem_id="history_delete")
                with gr.Row():
                    self.to_first = gr.Button(UI("ui.to_first"), size="sm", elem_id="history_to_first")
                    self.to_v2v = gr.Button(UI("ui.to_v2v"), size="sm", elem_id="history_to_v2v")
                    self.to_character = gr.Button(UI("ui.to_character"), size="sm", elem_id="history_to_character")
        self.timer = gr.Timer(2.0, active=False)  # ticks only while something in the list is still running

    # --- events -----------------------------------------------------------------------------------------------

    async def refresh(self, token: str | None, selected: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor = visitor_of(token, request)
        lang = request_language(request)
        items = await self.studio.history_of(visitor)
        running = [g for g in items if not g.terminal]
        gallery = [
            (g.poster_path or str(status_poster(g.status, folder=self.studio.outputs)), _caption(g, lang))
            for g in items
        ]
        if not items:
            summary = t(lang, "history.empty")
        elif running:
            summary = t(lang, "history.count_running", count=len(items), running=len(running))
        else:
            summary = t(lang, "history.count", count=len(items))
        updates = {
            self.gallery: gallery,
            self.ids: [g.id for g in items],
            self.summary: summary,
            self.timer: gr.Timer(active=bool(running)),
        }
        if selected and any(g.id == selected and not g.terminal for g in items):
            updates |= await self._show(selected, visitor, lang)  # keep a running selection live
        return updates

    async def select(
        self, ids: list[str], token: str | None, request: gr.Request, evt: gr.SelectData
    ) -> dict[Any, Any]:
        if evt.index is None or not 0 <= int(evt.index) < len(ids):
            return {}
        return await self._show(ids[int(evt.index)], visitor_of(token, request), request_language(request))

    async def _show(self, generation_id: str, visitor: str, lang: str = "en") -> dict[Any, Any]:
        g = await self.studio.generation(generation_id, visitor=visitor)
        if g is None:
            return {self.detail: gr.update(visible=False), self.selected: None}
        lineage = await self.studio.lineage(generation_id, visitor=visitor)
        has_clip = bool(g.output_path and Path(g.output_path).is_file())
        return {
            self.detail: gr.update(visible=True),
            self.selected: g.id,
            self.video: g.output_path if has_clip else None,
            self.details: _details(g, lineage, lang),
            self.download: gr.update(value=g.output_path if has_clip else None, visible=has_clip),
            **{b: gr.update(interactive=has_clip) for b in (self.to_first, self.to_v2v, self.to_character)},
        }

    async def do_reuse(self, selected: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        reuse = await self.studio.reuse(selected or "", visitor=visitor_of(token, request))
        if reuse is None:
            raise gr.Error(t(request_language(request), "history.choose_first"))
        tab = self.tabs[reuse.endpoint]
        return tab.fill(reuse.form) | {self.tab_set: gr.Tabs(selected=tab.prefix)}

    async def do_delete(self, selected: str | None, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor = visitor_of(token, request)
        if not selected or not await self.studio.delete(selected, visitor=visitor):
            raise gr.Error(t(request_language(request), "history.choose_first"))
        return {self.detail: gr.update(visible=False), self.selected: None} | await self.refresh(token, None, request)

    async def clip_of(self, selected: str | None, token: str | None, request: gr.Request) -> tuple[str, str]:
        g = await self.studio.generation(selected or "", visitor=visitor_of(token, request))
        if g is None or not g.output_path:
            raise gr.Error(t(request_language(request), "history.no_clip"))
        return g.output_path, g.id

    def wire(self, tab: Any) -> None:
        refresh_inputs = [self.shared.visitor_token, self.selected]
        refresh_outputs = [
            self.gallery,
            self.ids,
            self.summary,
            self.timer,
            self.detail,
            self.selected,
            self.video,
            self.details,
            self.download,
            self.to_first,
            self.to_v2v,
            self.to_character,
        ]
        for trigger in (tab.select, self.timer.tick):
            trigger(self.refresh, refresh_inputs, refresh_outputs, show_progress="hidden", api_visibility="private")
        self.refresh_button.click(
            self.refresh, refresh_inputs, refresh_outputs, show_progress="hidden", api_name="history"
        )
        self.gallery.select(
            self.select, [self.ids, self.shared.visitor_token], refresh_outputs[4:], show_progress="hidden"
        )
        targets = [c for t in self.tabs.values() for c in t.bindings.targets()] + [self.tab_set]
        self.reuse.click(self.do_reuse, [self.selected, self.shared.visitor_token], targets)
        self.delete.click(self.do_delete, [self.selected, self.shared.visitor_token], refresh_outputs)
