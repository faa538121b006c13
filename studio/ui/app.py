"""The page: settings, a tab per generation kind, and the actions that chain one result into the next tab."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from studio import __version__
from studio.capabilities import PROVIDERS
from studio.capabilities import provider as provider_spec
from studio.errors import StudioError
from studio.i18n import Label, localize, request_language, t
from studio.service import Studio
from studio.settings import DEFAULT_MAX_SESSIONS, Settings
from studio.ui import controls, gradio_compat
from studio.ui.history_tab import TAB_ID as HISTORY_ID
from studio.ui.history_tab import HistoryTab
from studio.ui.tabs import CharacterTab, GenerationTab, ImageToVideoTab, Shared, VideoToVideoTab
from studio.ui.translations import UI, english_of, page_text
from studio.ui.upkeep import upkeep

CSS = """
.rs-banner {background: #fff7e0; border: 1px solid #f0c36d; border-radius: 8px; padding: 8px 14px; color: #5c4300}
.rs-banner p {margin: 0}
.rs-status {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 14px; min-height: 64px}
.rs-status progress {width: 100%; height: 14px; margin: 6px 0}
.rs-status.rs-succeeded {border-color: #3aa55d; background: #f1faf3}
.rs-status.rs-failed {border-color: #d9534f; background: #fdf2f2}
.rs-status.rs-cancelled {border-color: #999; background: #f6f6f6}
.rs-status .rs-percent {font-variant-numeric: tabular-nums; font-weight: 600}
.rs-status ul {margin: 4px 0 0 18px}
.rs-counter {text-align: right; font-size: 12px; color: var(--body-text-color-subdued); margin-top: -6px}
.rs-counter.rs-over {color: #d9534f; font-weight: 600}
.rs-note p, .rs-warning p {font-size: 13px; margin: 2px 0}
.rs-warning p {color: #b35c00}
.rs-cost p {font-weight: 600; margin: 4px 0}
/* Gradio shrinks the column count to the number of items: keep History's tiles one size however many there are */
#history_gallery .grid-container {grid-template-columns: repeat(auto-fill, minmax(200px, 240px)) !important;
  grid-auto-rows: 140px !important}
#history_gallery .grid-wrap.fixed-height {height: auto !important; min-height: 170px !important; max-height: 480px}
"""

# Gradio's video player does not set playsinline, so iPhones would open every result full screen.
PLAYS_INLINE = """<script>
new MutationObserver(() => document.querySelectorAll("video:not([playsinline])").forEach((v) => {
  v.setAttribute("playsinline", ""); v.playsInline = true;
})).observe(document.documentElement, {childList: true, subtree: true});
</script>"""

KEY_HELP = UI("ui.api_key_help")


def _key_line(studio: Studio, provider: str, key: str | None, lang: str = "en") -> str:
    source = studio.key_source(provider, key)
    if source == "none":
        return t(lang, "page.key_none", provider=Label(provider_spec(provider).label))
    return t(lang, "page.key_in_use", source=Label(source))


class StudioBlocks(gr.Blocks):
    """The page's Blocks. Labels are translation keys (the browser shows them in its language); the API's
    description of the endpoints (``/info``, which gradio_client reads) names every parameter in English."""

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None) -> Any:
        return gradio_compat.english(super().get_api_info(all_endpoints=all_endpoints, page=page), english_of)


def _banner(provider: str) -> Any:
    return gr.update(visible=provider == "simulator")


def build_app(
    studio: Studio,
    *,
    default_provider: str,
    browser_secret: str,
    sign_in: bool = False,
    ephemeral_history: bool = False,
) -> gr.Blocks:
    """The whole page. Importing this module builds nothing; calling this does.

    ``browser_secret`` encrypts the visitor token kept in the browser; it must stay the same across restarts
    (``Studio.browser_secret``) or visitors lose their history. ``sign_in`` offers Hugging Face sign-in (on a
    Space), which binds history to the account; ``ephemeral_history`` warns that history is lost on restart.
    """
    # Gradio keeps a copy of every clip it serves in its cache: drop copies older than a day (History serves from
    # the studio's own data dir, so nothing is lost).
    with StudioBlocks(title="Runway Studio", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# Runway Studio\n{UI('ui.tagline')} <small>v{__version__}</small>")
        banner = gr.Markdown(
            UI("ui.sim_banner"),
            elem_classes="rs-banner",
            elem_id="sim_banner",
            visible=default_provider == "simulator",
        )
        if ephemeral_history:
            gr.Markdown(
                UI("ui.storage_warning"), elem_classes="rs-banner rs-storage-warning", elem_id="storage_warning"
            )
        if sign_in:
            with gr.Row():
                gr.Markdown(UI("ui.sign_in"))
                gr.LoginButton(scale=0)
        with gr.Accordion(UI("ui.settings"), open=False, elem_id="settings"):
            with gr.Row():
                provider = gr.Radio(
                    [
                        (UI("ui.provider_simulator") if p.name == "simulator" else p.label, p.name)
                        for p in PROVIDERS.values()
                    ],
                    value=default_provider,
                    label=UI("ui.provider"),
                    elem_id="provider",
                )
                key_box = gr.Textbox(label=UI("ui.api_key"), type="password", info=KEY_HELP, elem_id="api_key")
            key_line = gr.Markdown(
                page_text(lambda lang: _key_line(studio, default_provider, None, lang)), elem_id="key_in_use"
            )
        key_state = gr.State("")
        token = gr.BrowserState("", storage_key="runway_studio_visitor", secret=browser_secret)
        shared = Shared(provider=provider, key_state=key_state, visitor_token=token)
        tabs: list[GenerationTab] = []
        with gr.Tabs(selected="i2v") as tab_set:
            for title, cls in (
                (UI("ui.tab_i2v"), ImageToVideoTab),
                (UI("ui.tab_v2v"), VideoToVideoTab),
                (UI("ui.tab_cp"), CharacterTab),
            ):
                with gr.Tab(title, id=cls.prefix, elem_id=f"tab_{cls.prefix}"):
                    tab = cls(studio, shared, default_provider=default_provider)
                    tab.build()
                    tab.wire()
                    tabs.append(tab)
            with gr.Tab(UI("ui.tab_history"), id=HISTORY_ID, elem_id="tab_history") as history_tab:
                history = HistoryTab(studio, shared, {t.endpoint: t for t in tabs}, tab_set)
                history.build()
                history.wire(history_tab)
        i2v, v2v, cp = tabs
        _wire_settings(studio, provider, key_box, key_state, key_line, banner, tabs)
        _wire_chaining(studio, tab_set, tabs, history, i2v, v2v, cp)  # type: ignore[arg-type]
        demo.load(_ensure_token, token, token, queue=False)
        for tab in tabs:  # a reopened page follows the visitor's running generation again
            panel = tab.panel
            demo.load(tab.reattach, token, panel.stream_outputs, show_progress="hidden").then(
                panel.finish, [panel.clip, panel.code], panel.extra_outputs, queue=False, show_progress="hidden"
            )
    return demo


def _ensure_token(token: str | None) -> str:
    """A new visitor gets a random token, kept (encrypted) in their browser's localStorage."""
    return token or secrets.token_urlsafe(24)


def _wire_settings(
    studio: Studio, provider: Any, key_box: Any, key_state: Any, key_line: Any, banner: Any, tabs: list[GenerationTab]
) -> None:
    # The key goes into server-side session state at once; the box is not an input of any generate event.
    def on_key(key: str | None, chosen: str, request: gr.Request) -> tuple[str, str]:
        return key or "", _key_line(studio, chosen, key, request_language(request))

    def on_provider(chosen: str, key: str | None, request: gr.Request) -> tuple[str, Any]:
        return _key_line(studio, chosen, key, request_language(request)), _banner(chosen)

    def refresh(request: gr.Request, chosen: str, *current: str | None) -> dict[Any, Any]:
        return _refresh_all(chosen, tabs, current, request_language(request))

    key_box.change(on_key, [key_box, provider], [key_state, key_line], queue=False, show_progress="hidden")
    provider.change(on_provider, [provider, key_state], [key_line, banner], queue=False, show_progress="hidden")
    models = [tab.model for tab in tabs]
    refreshed = provider.change(
        refresh, [provider, *models], _refresh_outputs(tabs), queue=False, show_progress="hidden"
    )
    for tab in tabs:  # the model may keep its value (so no .change fires) while its rules differ on this provider
        refreshed.then(tab.on_model, tab.model_inputs(), tab.model_outputs(), queue=False, show_progress="hidden")


def _refresh_outputs(tabs: list[GenerationTab]) -> list[Any]:
    return [c for t in tabs for c in (t.model, t.unavailable, t.generate_button)]


def _refresh_all(
    provider: str, tabs: list[GenerationTab], current: tuple[str | None, ...], lang: str = "en"
) -> dict[Any, Any]:
    """Model choices and availability for every tab after a provider change (keeping each model if it is served)."""
    updates: dict[Any, Any] = {}
    for tab, model in zip(tabs, current):
        note = controls.unavailable_note(provider_spec(provider), tab.endpoint, lang)
        updates[tab.model] = controls.model_update(provider, tab.endpoint, model)
        updates[tab.unavailable] = note
        updates[tab.generate_button] = gr.update(interactive=not note)
    return updates


def _wire_chaining(
    studio: Studio,
    tab_set: Any,
    tabs: list[GenerationTab],
    history: HistoryTab,
    i2v: ImageToVideoTab,
    v2v: VideoToVideoTab,
    cp: CharacterTab,
) -> None:
    """ "Use last frame as first frame", "Send to Video to Video", "Use as character": from a tab's result or from
    History. The next generation records the one it continues (its lineage)."""

    async def to_first(clip: str | None, parent: str | None, request: gr.Request) -> dict[Any, Any]:
        lang = request_language(request)
        try:
            frame = await studio.last_frame(Path(_need(clip, lang)))
        except StudioError as err:
            raise gr.Error(localize(err, lang)) from None
        return {i2v.first: str(frame), i2v.first_url: "", i2v.parent: parent, tab_set: gr.Tabs(selected=i2v.prefix)}

    def to_v2v(clip: str | None, parent: str | None, request: gr.Request) -> dict[Any, Any]:
        clip = _need(clip, request_language(request))
        return {v2v.video: clip, v2v.video_url: "", v2v.parent: parent, tab_set: gr.Tabs(selected=v2v.prefix)}

    def to_character(clip: str | None, parent: str | None, request: gr.Request) -> dict[Any, Any]:
        clip = _need(clip, request_language(request))
        return {
            cp.character_type: "video",
            cp.character_video: gr.update(value=clip, visible=True),
            cp.character_image: gr.update(visible=False),
            cp.character_url: "",
            cp.parent: parent,
            tab_set: gr.Tabs(selected=cp.prefix),
        }

    targets = {
        to_first: [i2v.first, i2v.first_url, i2v.parent, tab_set],
        to_v2v: [v2v.video, v2v.video_url, v2v.parent, tab_set],
        to_character: [cp.character_type, cp.character_video, cp.character_image, cp.character_url, cp.parent, tab_set],
    }
    for tab in tabs:
        panel = tab.panel
        for button, action in ((panel.to_first, to_first), (panel.to_v2v, to_v2v), (panel.to_character, to_character)):
            button.click(action, [panel.clip, panel.generation], targets[action])
    history_inputs = [history.selected, history.shared.visitor_token]
    for button, action in (
        (history.to_first, to_first),
        (history.to_v2v, to_v2v),
        (history.to_character, to_character),
    ):
        button.click(history.clip_of, history_inputs, [history.clip, history.clip_parent]).success(
            action, [history.clip, history.clip_parent], targets[action]
        )


def _need(clip: str | None, lang: str = "en") -> str:
    if not clip:
        raise gr.Error(t(lang, "page.no_clip"))
    return clip


def assemble(settings: Settings) -> tuple[Studio, gr.Blocks]:
    """The studio and its page for ``settings``, queued and ready to launch (app.py and the tests use this)."""
    studio = Studio.from_settings(settings)
    demo = build_app(
        studio,
        default_provider=settings.provider,
        browser_secret=studio.browser_secret(settings),
        sign_in=settings.on_space and settings.oauth,  # LoginButton without OAuth would demand a local HF login
        ephemeral_history=not settings.persistent,
    )
    return studio, queue(demo)


def launch_options(studio: Studio, *, max_upload_mb: int, max_sessions: int = DEFAULT_MAX_SESSIONS) -> dict[str, Any]:
    """How to launch: concurrency high enough for 100 visitors at once, no run history (it would keep the key
    box in the visitor's localStorage), no SSR (Spaces), only the studio's own files served, at most
    ``max_sessions`` pages' session state in memory, and the history reconciler and the upkeep (sessions, memory)
    running for as long as the server does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with studio.lifespan(app), upkeep(app):
            yield

    return {
        "app_kwargs": {"lifespan": lifespan},
        "state_session_capacity": max_sessions,
        "max_threads": 256,
        "run_history": False,
        "ssr_mode": False,
        "max_file_size": f"{max_upload_mb}mb",
        "allowed_paths": [str(studio.outputs), str(studio.inputs)],
        "css": CSS,
        "i18n": UI,  # the static page text in English and Simplified Chinese, chosen by the browser's language
        "head": PLAYS_INLINE,
        "footer_links": ["api"],
        "show_error": True,
    }


def queue(demo: gr.Blocks) -> gr.Blocks:
    """Every visitor's generation runs at once: Gradio's default of one at a time per event would make each
    visitor wait behind another's minutes-long task."""
    return demo.queue(default_concurrency_limit=None)
