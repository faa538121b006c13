"""The page: settings, a tab per generation kind, and the actions that chain one result into the next tab."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from studio import __version__
from studio.capabilities import PROVIDERS, Endpoint, ProviderSpec
from studio.capabilities import provider as provider_spec
from studio.client import Organization
from studio.errors import InvalidInput, StudioError
from studio.forms import Form, MediaInput
from studio.history import Generation
from studio.i18n import Label, localize, request_language, t
from studio.identity import Visitors
from studio.service import Studio
from studio.settings import DEFAULT_MAX_SESSIONS, Settings
from studio.ui import controls, gradio_compat
from studio.ui.assets import ASSETS
from studio.ui.result_panel import OPEN_BOARD
from studio.ui.tabs import GENERATION_TABS, GenerationTab, HistoryTab, Shared
from studio.ui.tabs.base import address_of
from studio.ui.tabs.history import TAB_ID as HISTORY_ID
from studio.ui.tabs.storyboard import TAB_ID as BOARD_ID
from studio.ui.tabs.storyboard import StoryboardTab
from studio.ui.translations import UI, english_of, page_text
from studio.ui.upkeep import upkeep
from studio.wiring import build_studio, visitors

KEY_HELP = UI("ui.api_key_help")

# Where the browser keeps its signed visitor token. Gradio obfuscates a BrowserState's value with a secret it sends
# to every browser, so this one is NOT a secret: the token is trusted for the server's signature, never for this.
TOKEN_KEY = "runway_studio_identity"
TOKEN_OBFUSCATION = "runway-studio-not-a-secret"
# Before identity was signed, the token itself sat here, encrypted with the server's secret (then public): read
# once, by the server, to give such a browser a signed token naming the same visitor (studio.identity).
LEGACY_TOKEN_KEY = "runway_studio_visitor"


def _key_line(studio: Studio, provider: str, key: str | None, lang: str = "en") -> str:
    """Whose key the next generation uses; or, before anything is sent, why there is none to use."""
    try:
        _, source = studio.key_for(provider, key)
    except InvalidInput as err:
        if key and key.strip():  # a key of another provider's shape
            return "⚠ " + " ".join(localize(issue, lang) for issue in err.issues)
        return t(lang, "page.key_none", provider=Label(provider_spec(provider).label))
    return t(lang, "page.key_in_use", source=Label(source))


class StudioBlocks(gr.Blocks):
    """The page's Blocks. Labels are translation keys (the browser shows them in its language); the API's
    description of the endpoints (``/info``, which gradio_client reads) names every parameter in English."""

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None) -> Any:
        return gradio_compat.english(super().get_api_info(all_endpoints=all_endpoints, page=page), english_of)


def _banner(provider: str) -> Any:
    return gr.update(visible=provider_spec(provider).simulated)


def build_app(
    studio: Studio,
    *,
    default_provider: str,
    visitors: Visitors,
    sign_in: bool = False,
    ephemeral_history: bool = False,
) -> gr.Blocks:
    """The whole page. Importing this module builds nothing; calling this does.

    ``visitors`` signs and checks the visitor token the browser keeps (``studio.identity``); its secret stays on
    the server, out of the page and ``/config``. ``sign_in`` offers Hugging Face sign-in (on a
    Space), which binds history to the account; ``ephemeral_history`` warns that history is lost on restart.
    """
    # Gradio keeps a copy of every clip it serves in its cache: drop copies older than a day (History serves from
    # the studio's own data dir, so nothing is lost).
    with StudioBlocks(title="Runway Studio", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# Runway Studio\n{UI('ui.tagline')} <small>v{__version__}</small>", elem_id="header")
        banner = gr.Markdown(
            UI("ui.sim_banner"),
            elem_classes="rs-banner",
            elem_id="sim_banner",
            visible=provider_spec(default_provider).simulated,
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
                provider = gradio_compat.ChoiceRadio(
                    [(_provider_label(p), p.name) for p in PROVIDERS.values()],
                    value=default_provider,
                    label=UI("ui.provider"),
                    elem_id="provider",
                )
                key_box = gr.Textbox(label=UI("ui.api_key"), type="password", info=KEY_HELP, elem_id="api_key")
            key_line = gr.Markdown(
                page_text(lambda lang: _key_line(studio, default_provider, None, lang)), elem_id="key_in_use"
            )
            balance = gr.Markdown(elem_id="balance", elem_classes="rs-note")
        key_state = gr.State("")
        token = gr.BrowserState("", storage_key=TOKEN_KEY, secret=TOKEN_OBFUSCATION)
        legacy = gr.Textbox(visible=False, elem_id="legacy_token")  # filled from localStorage by the load's js
        shared = Shared(provider=provider, key_state=key_state, visitor_token=token, visitors=visitors)
        tabs: list[GenerationTab] = []
        with gr.Tabs(selected="i2v", overflow_behavior="wrap", elem_id="tabs") as tab_set:
            for cls in GENERATION_TABS:
                with gr.Tab(UI(f"ui.tab_{cls.prefix}"), id=cls.prefix, elem_id=f"tab_{cls.prefix}"):
                    tab = cls(studio, shared, default_provider=default_provider)
                    tab.build()
                    tab.wire()
                    tabs.append(tab)
            with gr.Tab(UI("ui.tab_board"), id=BOARD_ID, elem_id="tab_board") as board_tab:
                board = StoryboardTab(studio, shared, tab_set)
                board.build()
            with gr.Tab(UI("ui.tab_history"), id=HISTORY_ID, elem_id="tab_history") as history_tab:
                history = HistoryTab(studio, shared, {e: t for t in tabs for e in t.endpoints}, tab_set, board)
                history.build()
                history.wire(history_tab)
        _wire_settings(studio, provider, key_box, key_state, key_line, banner, tabs)
        _wire_balance(studio, demo, provider, key_state, balance, tabs)
        _wire_chaining(studio, tab_set, tabs, history, board)
        arrived = _wire_arrival(demo, visitors, token, legacy)
        board.wire(board_tab, arrived)
        tables = [dataset for tab in tabs for dataset, _ in tab.example_tables]

        def headers(request: gr.Request) -> dict[Any, Any]:
            lang = request_language(request)
            return {k: v for tab in tabs for k, v in tab.example_headers(lang).items()}

        demo.load(headers, None, tables, queue=False, show_progress="hidden")
        for tab in tabs:  # a reopened page follows the visitor's running generation again
            panel = tab.panel
            arrived.then(
                tab.reattach,
                [token, panel.takes],
                [*panel.stream_outputs, tab.generate_button, tab.cancel_button],
                show_progress="hidden",
            ).then(panel.finish, panel.takes, panel.finish_outputs, queue=False, show_progress="hidden").then(
                tab.offered, provider, tab.generate_button, queue=False, show_progress="hidden"
            )
    # The page's own files in Gradio's cache (examples, default values) are never trimmed with the uploads.
    studio.keep_uploads = lambda: {
        path for block in demo.blocks.values() for path in getattr(block, "keep_in_cache", ())
    }
    return demo


def _wire_arrival(demo: gr.Blocks, visitors: Visitors, token: Any, legacy: Any) -> Any:
    """When the page opens: the server checks the browser's token, and gives a new visitor (or an old browser) a
    signed one, which the browser keeps. Over the new-visitors cap the page says so and gets none."""

    async def arrive(given: str | None, old: str | None, request: gr.Request) -> str:
        lang = request_language(request)
        try:
            return await visitors.arrive(given, old, address=address_of(visitors, request))
        except InvalidInput as err:
            raise gr.Error(" ".join(localize(issue, lang) for issue in err.issues)) from None

    read_old = f"(token, _) => [token, token ? '' : (localStorage.getItem('{LEGACY_TOKEN_KEY}') || '')]"
    return demo.load(arrive, [token, legacy], token, js=read_old, queue=False, show_progress="hidden")


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


def _wire_balance(
    studio: Studio, demo: gr.Blocks, provider: Any, key_state: Any, balance: Any, tabs: list[GenerationTab]
) -> None:
    """The credit balance and daily limits of the key in use, where the provider tells them: when the page opens,
    when the provider or key changes, and after each generation (the service asks at most once a minute)."""

    async def show(chosen: str, key: str | None, request: gr.Request) -> str:
        found = await studio.balance(chosen, key)
        return balance_text(found, request_language(request)) if found is not None else ""

    quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
    for trigger in (demo.load, provider.change, key_state.change):
        trigger(show, [provider, key_state], balance, **quiet)
    for tab in tabs:
        tab.panel.download.change(show, [provider, key_state], balance, **quiet)


def balance_text(account: Organization, lang: str) -> str:
    """ "Balance: 12,345 credits", and each model's daily limit where the tier has one."""
    limited = [
        t(lang, "page.daily_limit", model=name, used=limits.used_today, most=limits.max_daily)
        for name, limits in sorted(account.models.items())
        if limits.max_daily is not None
    ]
    text = t(lang, "page.balance", credits=account.credit_balance)
    return text + (" · " + " · ".join(limited) if limited else "")


def _provider_label(spec: ProviderSpec) -> Any:
    """A provider as the radio shows it: the simulators by page keys (translated), the others by name."""
    return UI(f"ui.provider_{spec.name.replace('-', '_')}") if spec.simulated else spec.label


def _refresh_outputs(tabs: list[GenerationTab]) -> list[Any]:
    return [c for t in tabs for c in (t.model, t.unavailable, t.generate_button, *t.example_sets)]


def _refresh_all(
    provider: str, tabs: list[GenerationTab], current: tuple[str | None, ...], lang: str = "en"
) -> dict[Any, Any]:
    """Model choices and availability for every tab after a provider change (keeping each model if it is served)."""
    updates: dict[Any, Any] = {}
    for tab, model in zip(tabs, current):
        note = controls.unavailable_note(provider_spec(provider), tab.endpoints, lang)
        updates[tab.model] = controls.model_update(provider, tab.endpoints, model)
        updates[tab.unavailable] = note
        updates[tab.generate_button] = gr.update(interactive=not note)
        updates |= tab.examples_for(provider)
    return updates


@dataclass(frozen=True)
class Chain:
    """A chaining action: the button on every result (and in History), the tab it opens, and the form values it
    puts there from a clip and the generation that made it (``fields`` names those it may set; one it leaves out
    keeps its value). The next generation records the one it continues."""

    button: str
    endpoint: Endpoint
    fields: tuple[str, ...]
    values: Callable[[Studio, str, Generation | None], Awaitable[dict[str, Any]]]


# What Continue carries over from a clip made on these tabs (their models and ratios are Image to Video's too).
CONTINUED_SETTINGS = ("model", "ratio", "duration")


async def _continue(studio: Studio, clip: str, source: Generation | None) -> dict[str, Any]:
    """Continue this shot: the clip's last frame as the first frame, and its prompt, model, ratio and duration (a
    last frame already chosen for Veo 3.1 stays)."""
    values: dict[str, Any] = {"first": MediaInput(path=str(await studio.last_frame(Path(clip))))}
    if source is not None:
        if source.prompt:
            values["prompt_text"] = source.prompt
        if source.endpoint in ("image_to_video", "text_to_video"):
            values |= {name: source.form[name] for name in CONTINUED_SETTINGS if source.form.get(name) is not None}
    return values


async def _as_input_video(studio: Studio, clip: str, source: Generation | None) -> dict[str, Any]:
    return {"video": MediaInput(path=clip)}


async def _as_character(studio: Studio, clip: str, source: Generation | None) -> dict[str, Any]:
    return {"character_type": "video", "character": MediaInput(path=clip)}


CHAINS = (
    Chain("continue", "image_to_video", ("first", "prompt_text", *CONTINUED_SETTINGS), _continue),
    Chain("to_v2v", "video_to_video", ("video",), _as_input_video),  # "Send to Video to Video"
    Chain("to_character", "character_performance", ("character_type", "character"), _as_character),
    Chain("to_finish", "video_upscale", ("video",), _as_input_video),  # "Finish this clip" (the Finish tab)
)


def _wire_chaining(
    studio: Studio, tab_set: Any, tabs: list[GenerationTab], history: HistoryTab, board: StoryboardTab
) -> None:
    """Each chaining action, from every tab's result and from History; and "Open as storyboard" from both."""
    by_endpoint = {e: tab for tab in tabs for e in tab.endpoints}
    for chain in CHAINS:
        target = by_endpoint[chain.endpoint]

        async def act(
            clip: str | None,
            parent: str | None,
            token: str | None,
            request: gr.Request,
            chain: Chain = chain,
            target: Any = target,
        ) -> dict[Any, Any]:
            lang = request_language(request)
            visitor = target.shared.visitor_of(token, request)
            source = await studio.generation(parent, visitor=visitor) if parent else None
            try:
                values = await chain.values(studio, _need(clip, lang), source)
            except StudioError as err:
                raise gr.Error(localize(err, lang)) from None
            given = [name for name in chain.fields if name in values]
            return target.fill(Form(target.endpoint, values), only=given) | {
                target.parent: parent,
                tab_set: gr.Tabs(selected=target.prefix),
            }

        outputs = [*target.bindings.targets(only=chain.fields), target.parent, tab_set]
        token = history.shared.visitor_token
        for tab in tabs:
            tab.panel.chains[chain.button].click(act, [tab.panel.clip, tab.panel.generation, token], outputs)
        history.chains[chain.button].click(
            history.clip_of, [history.selected, token], [history.clip, history.clip_parent]
        ).success(act, [history.clip, history.clip_parent, token], outputs)
    for tab in tabs:
        tab.panel.chains[OPEN_BOARD].click(board.open_lineage, [tab.panel.generation, token], board.open_outputs)
    history.chains[OPEN_BOARD].click(board.open_lineage, [history.selected, token], board.open_outputs)


def _need(clip: str | None, lang: str = "en") -> str:
    if not clip:
        raise gr.Error(t(lang, "page.no_clip"))
    return clip


def assemble(settings: Settings) -> tuple[Studio, gr.Blocks]:
    """The studio and its page for ``settings``, queued and ready to launch (app.py and the tests use this)."""
    gradio_compat.direct_peers()  # the client's address is the studio's to work out (studio.identity)
    studio = build_studio(settings)
    studio.forget_copies = gradio_compat.forget_cached  # Delete also removes the copies Gradio made
    demo = build_app(
        studio,
        default_provider=settings.provider,
        visitors=visitors(settings, studio.history),
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
        # The studio's own file route (signed, expiring links), answered before Gradio's routes.
        "app_kwargs": {"lifespan": lifespan, "middleware": [studio.links.middleware()]},
        "state_session_capacity": max_sessions,
        "max_threads": 256,
        "run_history": False,
        "ssr_mode": False,
        "max_file_size": f"{max_upload_mb}mb",
        "allowed_paths": [str(studio.outputs), str(studio.inputs)],
        "css": ASSETS.css,
        "i18n": UI,  # the static page text in English and Simplified Chinese, chosen by the browser's language
        "head": ASSETS.head,
        "footer_links": ["api"],
        "show_error": True,
    }


def queue(demo: gr.Blocks) -> gr.Blocks:
    """Every visitor's generation runs at once: Gradio's default of one at a time per event would make each
    visitor wait behind another's minutes-long task."""
    return demo.queue(default_concurrency_limit=None)
