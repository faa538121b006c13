"""What every generation tab shares: the model, ratio, prompt and seed controls, the cost line, Generate and
Cancel, the result panel, and the events that turn the page's values into a ``Form`` and stream the job back.

A tab subclass builds its own controls and declares them once, as ``Bindings`` (``studio.ui.bindings``); the
form, the examples, Reuse and the chaining actions are derived from that list. No HTTP, SQL or Pillow here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from studio.capabilities import PROVIDERS, Endpoint, ModelSpec, VideoInputRule
from studio.capabilities import provider as provider_spec
from studio.errors import FieldIssue, InvalidInput
from studio.forms import Form, MediaInput
from studio.i18n import CATALOG, DEFAULT, Msg, localize, request_language, t
from studio.identity import Visitors
from studio.jobs import JobStatus, follow_all
from studio.phases import Phase
from studio.pricing import credits_per_second
from studio.requests import LABELS, REQUEST_TYPES
from studio.service import MAX_TAKES, Studio
from studio.ui import controls, gradio_compat
from studio.ui.bindings import Bindings, Field, Seed, Upload, text, text_or_none, whole
from studio.ui.gradio_compat import RawNumber, RawRadio
from studio.ui.result_panel import ResultPanel
from studio.ui.served import Served
from studio.ui.status import error_html, status_html, takes_status
from studio.ui.translations import UI, page_text

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "examples"


def asset(name: str) -> str:
    """A bundled example file (made by assets/make_assets.py)."""
    return str(ASSETS / name)


@dataclass
class Shared:
    """Controls every tab reads: the provider, the visitor's key (server-side session state), the signed token the
    browser keeps, and who checks it (``studio.identity``)."""

    provider: gr.Radio
    key_state: gr.State
    visitor_token: gr.BrowserState
    visitors: Visitors

    def visitor_of(self, token: str | None, request: gr.Request) -> str:
        """Who is asking: their Hugging Face account when signed in on a Space, else the visitor their signed token
        names, else (no token, or one the server did not sign) their session: a new anonymous visitor."""
        username = getattr(request, "username", None)
        if username:
            return f"hf:{username}"
        return self.visitors.visitor(token) or f"session:{request.session_hash or 'anonymous'}"

    def address_of(self, request: gr.Request) -> str | None:
        """The client's address, whose spending the caps also count; None for a signed-in account."""
        if getattr(request, "username", None):
            return None
        return address_of(self.visitors, request)


def address_of(visitors: Visitors, request: gr.Request) -> str:
    client = getattr(request, "client", None)
    headers = getattr(request, "headers", None) or {}
    return visitors.address(getattr(client, "host", None), headers.get("x-forwarded-for"))


THRESHOLD_CHOICES = [(UI("ui.threshold_auto"), "auto"), (UI("ui.threshold_low"), "low")]


def threshold_radio(prefix: str) -> RawRadio:
    """The public-figure threshold (contentModeration)."""
    label = UI("ui.public_figure_threshold")
    return RawRadio(THRESHOLD_CHOICES, value="auto", label=label, elem_id=f"{prefix}_threshold")


def threshold_field(radio: RawRadio) -> Field:
    return Field(radio, "threshold", option="contentModeration", empty="auto")


def read_takes(value: Any) -> int:
    """How many takes were asked for (InvalidInput naming "Takes" for what is not a whole number)."""
    try:
        return int(str(value or "1").strip())
    except ValueError:
        raise InvalidInput(
            FieldIssue("Takes", Msg("req.takes", most=MAX_TAKES, value=value), path=("takes",))
        ) from None


def label_in(component: Any, lang: str) -> str:
    """A control's label in ``lang`` (its translation key's text, also for labels made when the page was built)."""
    key = getattr(component.label, "key", None)
    if key is None:
        return str(component.label or "")
    return CATALOG[lang].get(key) or gradio_compat.translation(UI, lang, key) or CATALOG[DEFAULT].get(key) or key


def english_label(component: Any) -> str:
    return label_in(component, DEFAULT)


def url_box(label: Any, elem_id: str, *, interactive: bool = True) -> gr.Textbox:
    return gr.Textbox(
        label=label, placeholder=UI("ui.url_placeholder"), max_lines=1, elem_id=elem_id, interactive=interactive
    )


# The examples table draws these columns with the control itself (a thumbnail, the prompt); the others (a model, a
# ratio, a duration, a switch) as their plain value, which the control's own drawing leaves blank when the value is
# not among the choices it was built with (a model of another provider).
SHOWN_AS_IS = (gr.Image, gr.Video, gr.Textbox)


def example_cell(value: Any) -> str:
    """An example's value in a plain column: a switch that is on as a tick, one that is off as nothing."""
    if isinstance(value, bool):
        return "✓" if value else ""
    return "" if value is None else str(value)


class GenerationTab:
    """One generation tab. Subclasses set ``endpoint`` and ``prefix`` and implement ``build`` (which ends by
    setting ``self.bindings``); they may add controls that follow the model (``model_changes``)."""

    endpoint: Endpoint
    # Every endpoint the tab serves, its models all in one list (Finish: the upscale passes and Add sound); the
    # chosen model says which one a generation goes to. Most tabs serve their ``endpoint`` only.
    endpoints: tuple[Endpoint, ...] = ()
    api_key = ""  # the tab's name in its API routes (generate_<api_key>): its endpoint's unless set
    prefix: str
    bindings: Bindings
    panel: ResultPanel
    # What the cost follows, where a tab has it: a duration control, Veo's audio box, and the length of the input
    # video the output follows (``seconds``, with ``length_source`` the input and a note under it).
    duration: Any = None
    audio: Any = None
    seconds: Any = None
    length_source: Upload

    def __init__(self, studio: Studio, shared: Shared, *, default_provider: str) -> None:
        self.studio = studio
        self.shared = shared
        self.default_provider = default_provider
        self.endpoints = self.endpoints or (self.endpoint,)
        self.api_key = self.api_key or self.endpoint
        self.start_spec = controls.first_spec(default_provider, self.endpoints)

    EXAMPLES: Sequence[Mapping[str, Any]] = ()  # one-click examples: each a form's values by field name

    def build(self) -> None:
        """The tab: its main inputs, the essential settings, Generate and the rest of the settings on the left, and
        the result (the status card and the takes) beside them, where the eye is; the examples end the tab."""
        with gr.Row(equal_height=False, elem_classes="rs-workspace"):
            with gr.Column(scale=5, min_width=320, elem_classes="rs-form"):
                self.unavailable = gr.Markdown(
                    page_text(
                        lambda lang: controls.unavailable_note(
                            provider_spec(self.default_provider), self.endpoints, lang
                        )
                    ),
                    elem_classes="rs-warning",
                )
                self.build_inputs()
                with gr.Row(elem_classes="rs-essentials"):
                    self._model_controls()
                    self.build_essentials()
                self.build_after_model()
                self._actions()
                with gr.Accordion(UI("ui.more_settings"), open=False, elem_id=f"{self.prefix}_more"):
                    self.build_more()
                    self._seed_controls()
                self.bindings = self.make_bindings()
            with gr.Column(scale=6, min_width=320, elem_classes="rs-result", elem_id=f"{self.prefix}_result"):
                self.panel = ResultPanel(self.prefix, links=self.studio.links)
                self.undo_timer = gr.Timer(self.studio.undo_s, active=False)  # the end of a discard's Undo offer
                self.build_result()
        self._examples()  # under both columns: on a phone the result comes first, right under Generate

    def build_inputs(self) -> None:
        """The main inputs and the prompt, at the top of the tab."""
        raise NotImplementedError

    def build_essentials(self) -> None:
        """Controls beside the model and the ratio (the duration...)."""

    def build_after_model(self) -> None:
        """Settings that follow the model's choice, under it (Finish: the chosen pass's own)."""

    def build_more(self) -> None:
        """The settings under "More settings" (the seed follows them)."""

    def make_bindings(self) -> Bindings:
        """The tab's bindings: every control and the form field it sets."""
        raise NotImplementedError

    def _examples(self) -> None:
        """The examples, one set per model table (the proxy's, the official API's): a set offers the examples whose
        model its providers serve, and shows while such a provider is chosen. Choosing one sets the whole form:
        every field the example does not name goes back to its default."""
        self.example_sets: dict[Any, frozenset[str]] = {}  # container -> the providers it is shown for
        self.example_tables: list[tuple[Any, list[Any]]] = []  # (dataset, its columns' components) for headers
        tables: dict[frozenset[str], list[str]] = {}
        for spec in PROVIDERS.values():
            names = frozenset(m.name for m in controls.models_of(spec.name, self.endpoints))
            tables.setdefault(names, []).append(spec.name)
        for served, providers in tables.items():
            rows = [row for row in self.EXAMPLES if row.get("model", next(iter(served), None)) in served]
            if not rows:
                continue
            inputs, values = self.bindings.examples(rows)
            shown: list[Any] = [c if isinstance(c, SHOWN_AS_IS) else "textbox" for c in inputs]
            cells = [[v if c != "textbox" else example_cell(v) for c, v in zip(shown, row)] for row in values]
            with gr.Column(visible=self.default_provider in providers, elem_classes="rs-examples") as box:
                dataset = gr.Dataset(
                    label=UI("ui.examples"),
                    components=shown,
                    samples=cells,
                    headers=[english_label(c) for c in inputs],
                    type="index",
                    samples_per_page=len(values),
                    elem_id=f"{self.prefix}_examples" if not self.example_sets else None,
                )
            dataset.click(
                lambda index, rows=rows: self.choose_example(rows[index]),
                dataset,
                self.bindings.targets(),
                queue=False,
                show_progress="hidden",
            )
            self.example_sets[box] = frozenset(providers)
            self.example_tables.append((dataset, inputs))

    def choose_example(self, row: Mapping[str, Any]) -> dict[Any, Any]:
        """The whole form as the example sets it: what it names, and every other field back to empty, except the
        model, which an example that names none leaves as chosen."""
        updates = self.fill(self.example_form(row))
        if row.get("model") is None:
            updates.pop(self.model, None)
        return updates

    def example_form(self, row: Mapping[str, Any]) -> Form:
        """An example's values as a form (its bundled files as media inputs)."""
        slots = Form.of(self.endpoint).slots
        return Form(
            self.endpoint,
            {
                k: MediaInput(path=v) if k in slots and isinstance(v, str) else v
                for k, v in row.items()
                if v is not None
            },
        )

    def example_headers(self, lang: str) -> dict[Any, Any]:
        """The examples' column headers in ``lang`` (the browser does not translate a table's headers)."""
        return {
            dataset: gr.Dataset(headers=[label_in(c, lang) for c in columns])
            for dataset, columns in self.example_tables
        }

    def examples_for(self, provider: str) -> dict[Any, Any]:
        """The example sets shown for ``provider``."""
        return {box: gr.update(visible=provider in providers) for box, providers in self.example_sets.items()}

    def build_result(self) -> None:
        """Anything the tab shows under its result."""

    # --- the controls every tab has --------------------------------------------------------------------------

    def _model_controls(self) -> None:
        first = self.start_spec
        self.model = gr.Dropdown(
            controls.model_choices(self.default_provider, self.endpoints),
            value=first.name if first else None,
            label=UI("ui.model"),
            info=page_text(lambda lang: controls.model_info(first, lang)) or None,
            elem_id=f"{self.prefix}_model",
            allow_custom_value=True,  # an off-list value gets the studio's own message naming the field
            min_width=180,
            scale=2,
        )
        self.ratio = gr.Dropdown(
            list(first.ratios) if first else [],
            value=first.default_ratio if first else None,
            label=UI("ui.ratio"),
            visible=first is None or bool(first.ratios),  # aleph2 keeps its input's size: no ratio to choose
            elem_id=f"{self.prefix}_ratio",
            allow_custom_value=True,
            min_width=130,
        )

    def _takes_control(self) -> None:
        """How many takes one press makes (each with its own seed)."""
        self.takes = gr.Dropdown(
            [str(n) for n in range(1, MAX_TAKES + 1)],
            value="1",
            label=UI("ui.takes"),
            elem_id=f"{self.prefix}_takes",
            allow_custom_value=True,  # an API caller's other value gets the studio's own message (read_takes)
            min_width=90,
            scale=0,
        )

    def _seed_controls(self) -> None:
        limits = provider_spec(self.default_provider).limits
        with gr.Row():
            self.random_seed = gr.Checkbox(True, label=UI("ui.random_seed"), elem_id=f"{self.prefix}_random_seed")
            self.seed = RawNumber(
                None,
                label=UI("ui.seed") + f" ({limits.seed_min}–{limits.seed_max})",
                precision=0,
                visible=False,
                elem_id=f"{self.prefix}_seed",
            )
        self.random_seed.change(
            lambda r: gr.update(visible=not r), self.random_seed, self.seed, queue=False, show_progress="hidden"
        )

    def _prompt(self, *, placeholder: Any) -> None:
        cap = provider_spec(self.default_provider).limits.prompt_max_utf16
        self.prompt = gr.Textbox(
            label=UI("ui.prompt"), placeholder=placeholder, lines=3, elem_id=f"{self.prefix}_prompt"
        )
        self.counter = gr.HTML(f'<div class="rs-counter">0 / {cap}</div>', elem_id=f"{self.prefix}_counter")
        # JavaScript's string length counts UTF-16 code units, exactly as the API does: no round trip needed.
        # .change (not .input) so a prompt filled in by "Reuse settings" or an example is counted too.
        self.prompt.change(
            None,
            self.prompt,
            self.counter,
            js=f"(t) => `<div class=\"rs-counter${{t.length > {cap} ? ' rs-over' : ''}}\">${{t.length}} / {cap}</div>`",
        )

    def _actions(self) -> None:
        spec = self.start_spec
        initial = page_text(
            lambda lang: self.cost_text(
                self.default_provider,
                spec.name if spec else None,
                duration=spec.default_duration if spec else None,
                lang=lang,
            )
        )
        self.parent = gr.State(None)  # the generation this one continues (set by the chaining actions)
        with gr.Row(elem_classes="rs-actions"):
            self._takes_control()
            self.generate_button = gr.Button(
                UI("ui.generate"),
                variant="primary",
                interactive=controls.serves(provider_spec(self.default_provider), self.endpoints),
                elem_id=f"{self.prefix}_generate",
                scale=3,
                min_width=140,
            )
            self.cancel_button = gr.Button(
                UI("ui.cancel"), variant="stop", visible=False, elem_id=f"{self.prefix}_cancel", scale=1, min_width=90
            )
        self.cost = gr.Markdown(initial, elem_id=f"{self.prefix}_cost", elem_classes="rs-cost")

    def _duration_control(self) -> None:
        spec = self.start_spec
        self.duration = gr.Dropdown(
            controls.duration_choices(spec),
            value=str(spec.default_duration) if spec and spec.default_duration else None,
            label=UI("ui.duration_s"),
            elem_id=f"{self.prefix}_duration",
            allow_custom_value=True,
            min_width=100,
        )

    def duration_field(self) -> Field:
        return Field(self.duration, "duration", read_value=whole("Duration"), to_page=str)

    def _sound_controls(self) -> list[Field]:
        """Veo's sound and negative prompt, shown for the models that take them. Returns their bindings."""
        takes = self.start_spec is not None and "audio" in self.start_spec.options
        with gr.Row(visible=takes) as self.sound_row:
            self.audio = gr.Checkbox(True, label=UI("ui.audio"), elem_id=f"{self.prefix}_audio", scale=1)
            self.negative_prompt = gr.Textbox(
                label=UI("ui.negative_prompt"),
                placeholder=UI("ui.negative_prompt_placeholder"),
                max_lines=2,
                elem_id=f"{self.prefix}_negative_prompt",
                scale=3,
            )
        self.sound_group = {self.sound_row: ("audio", "negativePrompt")}
        return [
            Field(self.audio, "audio", read_value=bool, option="audio", empty=True),
            Field(self.negative_prompt, "negative_prompt", read_value=text_or_none, option="negativePrompt", empty=""),
        ]

    def common_bindings(self) -> list[Any]:
        """The bindings of the controls every tab has (a tab adds its own)."""
        return [
            Field(self.model, "model", read_value=text),
            Field(self.ratio, "ratio", read_value=text_or_none),  # not sent when the model takes none
            Seed(self.random_seed, self.seed),
        ]

    # --- events -------------------------------------------------------------------------------------------

    def form(self, data: Mapping[Any, Any]) -> Form:
        """The form the page's values make (InvalidInput naming each field an API caller sent wrongly)."""
        spec = self.spec_for(data[self.shared.provider], data[self.model])
        return Form(spec.endpoint if spec else self.endpoint, self.bindings.read(data, spec))

    def spec_for(self, provider: str, model: str | None) -> ModelSpec | None:
        """The chosen model on ``provider``, on whichever of the tab's endpoints serves it."""
        return controls.spec_of(provider, self.endpoints, model)

    def cost_text(
        self,
        provider: str,
        model: str | None,
        *,
        duration: Any = None,
        seconds: float | None = None,
        audio: bool | None = None,
        takes: Any = 1,
        options: Mapping[str, Any] | None = None,
        lang: str = "en",
    ) -> str:
        """The cost line: the estimate for the chosen length (and Veo's audio) times the takes, or the price per
        second while the length is not known yet (it follows an input video not given yet)."""
        spec = self.spec_for(provider, model)
        if spec is None:
            return ""
        whole = int(duration) if str(duration or "").isdigit() else None
        estimate = self.studio.cost(
            provider=provider,
            endpoint=spec.endpoint,
            model=spec.name,
            duration=whole,
            input_seconds=seconds,
            audio=audio,
            options=options,
        )
        if estimate is None and spec.credits_per_frame:  # the upscaler, before its clip is given
            resolution = str((options or {}).get("resolution") or _default(spec, "resolution"))
            credits = spec.credits_per_frame.get(resolution, max(spec.credits_per_frame.values()))
            return t(lang, "page.cost_per_frame", credits=credits, usd=credits / 100, resolution=resolution)
        if estimate is None:
            per_second = credits_per_second(spec, audio=audio)
            key = "page.cost_per_second_third_party" if spec.price_is_estimate else "page.cost_per_second"
            return t(lang, key, credits=per_second, usd=per_second / 100)
        free = provider_spec(provider).simulated
        count = int(takes) if str(takes or "").isdigit() and 1 < int(takes) <= MAX_TAKES else 1
        if count > 1:
            estimate = estimate.times(count)
        return t(lang, "page.cost_free" if free else "page.cost", estimate=estimate.describe())

    async def generate(self, data: dict[Any, Any], request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """Submit the form (as many takes as asked) and stream every take's status until all have ended. The form is
        never cleared, and the clips on screen stay until new ones replace them."""
        panel = self.panel
        lang, served = request_language(request), Served(self.studio.links, request)
        shown: list[str | None] = [take[0] for take in data[panel.takes] or ()]
        preparing = JobStatus(Phase.PREPARING, Msg("job.preparing"))
        yield {panel.status: status_html(preparing, lang)} | self._running(True)
        try:
            jobs = await self.studio.submit_takes(
                self.form(data),
                takes=read_takes(data[self.takes]),
                provider=data[self.shared.provider],
                visitor=self.shared.visitor_of(data[self.shared.visitor_token], request),
                visitor_key=data[self.shared.key_state],
                parent_id=data[self.parent],
                address=self.shared.address_of(request),
            )
        except InvalidInput as err:
            lines = [localize(issue, lang) for issue in err.issues]
            yield panel.refuse(error_html(lines, lang, at_fields=self.at_fields(err, lang))) | self._running(False)
            return
        codes = [job.code for job in jobs]
        sent: dict[Any, Any] = {self.parent: self.parent_after(data)}  # with the first status
        statuses = [job.status for job in jobs]
        async for statuses in follow_all(jobs):
            yield panel.show(statuses, lang, codes=codes, shown=shown, served=served) | sent
            sent = {}
        yield panel.show(statuses, lang, codes=codes, shown=shown, final=True, served=served) | self._running(False)

    def parent_after(self, data: Mapping[Any, Any]) -> str | None:
        """The generation the next one continues, once this one is sent: none (a chaining action sets it again)."""
        return None

    def _running(self, running: bool) -> dict[Any, Any]:
        """Generate shows that it is working, and Cancel is there only while something runs (once it has ended,
        ``offered`` says whether Generate may be pressed on the provider chosen by then)."""
        return {
            self.generate_button: gr.update(interactive=not running, elem_classes=["rs-busy"] if running else []),
            self.cancel_button: gr.update(visible=running),
        }

    def offered(self, provider: str) -> dict[Any, Any]:
        """Generate is pressable where ``provider`` offers this tab (the provider may have changed during a run)."""
        return {self.generate_button: gr.update(interactive=controls.serves(provider_spec(provider), self.endpoints))}

    def at_fields(self, err: InvalidInput, lang: str) -> dict[str, str]:
        """Each refused field's message, by the id of the control that shows it."""
        anchors = self.bindings.anchors(self.label_of) | {"API key": "api_key", "Takes": f"{self.prefix}_takes"}
        found: dict[str, list[str]] = {}
        for issue in err.issues:
            if issue.field in anchors:
                found.setdefault(anchors[issue.field], []).append(localize(issue.message, lang))
        return {elem_id: " ".join(messages) for elem_id, messages in found.items()}

    def label_of(self, name: str, option: str | None) -> str:
        """What the studio's messages call the form field ``name`` (or the wire field ``option`` it sets)."""
        slots = Form.of(self.endpoint).slots
        if name in slots:
            return slots[name].label
        for endpoint in self.endpoints:
            field = REQUEST_TYPES[endpoint].model_fields.get(name)
            if field is not None and field.title:
                return field.title
        return LABELS.get(option or name, name)

    async def reattach(self, token: str | None, takes: Any, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """On page load: if this visitor's generation on this tab is still running, follow it again."""
        visitor = self.shared.visitor_of(token, request)
        groups = (self.studio.live_jobs(visitor=visitor, endpoint=e) for e in self.endpoints)
        jobs = next((g for g in groups if any(not job.status.final for job in g)), [])  # the generation still running
        if not jobs or all(job.status.final for job in jobs):
            yield gr.skip()  # a generator that yields nothing would blank every output (the Ready panel among them)
            return
        lang, served = request_language(request), Served(self.studio.links, request)
        shown: list[str | None] = [take[0] for take in takes or ()]
        codes = [job.code for job in jobs]
        yield self._running(True)
        statuses = [job.status for job in jobs]
        async for statuses in follow_all(jobs):
            yield self.panel.show(statuses, lang, codes=codes, shown=shown, served=served)
        yield self.panel.show(statuses, lang, codes=codes, shown=shown, final=True, served=served) | self._running(
            False
        )

    # --- what can be done with a take: keep it, discard it (and undo that) ----------------------------------------

    async def keep_take(self, data: dict[Any, Any], request: gr.Request, *, keep: bool = True) -> dict[Any, Any]:
        """Star the chosen take (``keep=False``: unstar it), as History's star does."""
        panel, lang = self.panel, request_language(request)
        generation, kept = data[panel.generation], tuple(data[panel.kept] or ())
        visitor = self.shared.visitor_of(data[self.shared.visitor_token], request)
        if not generation or not await self.studio.star(generation, visitor=visitor, starred=keep):
            raise gr.Error(t(lang, "history.choose_first"))
        kept = (*kept, generation) if keep else tuple(k for k in kept if k != generation)
        return {panel.kept: kept, panel.keep: gr.update(visible=not keep), panel.unkeep: gr.update(visible=keep)}

    async def unkeep_take(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        return await self.keep_take(data, request, keep=False)

    async def discard_take(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Delete the chosen take: its clip leaves the panel at once, and Undo is offered for ``undo_s`` seconds (a
        take discarded before is removed for good now)."""
        panel, lang = self.panel, request_language(request)
        visitor = self.shared.visitor_of(data[self.shared.visitor_token], request)
        takes, index = tuple(data[panel.takes] or ()), int(data[panel.take] or 0)
        if index >= len(takes) or not takes[index][1]:
            raise gr.Error(t(lang, "history.choose_first"))
        earlier = data[panel.discarded]
        if earlier:  # its Undo is replaced by this one's: it goes for good now
            await self.studio.purge_deleted(visitor=visitor, generation_id=earlier[1][1], at_once=True)
        if await self.studio.delete(takes[index][1], visitor=visitor) is None:
            raise gr.Error(t(lang, "history.choose_first"))
        left = tuple((None, take[1], take[2]) if i == index else take for i, take in enumerate(takes))
        chosen = next((i for i, take in enumerate(left) if take[0]), index)
        return panel.choose(left, chosen, data[panel.kept], served=Served(self.studio.links, request)) | {
            panel.takes: left,
            panel.slots[index].box: gr.update(visible=False),
            panel.take: gr.update(value=chosen),
            panel.discarded: (index, takes[index]),
            panel.undo_bar: gr.update(visible=True),
            panel.undo_text: t(lang, "page.take_discarded", take=index + 1, seconds=self.studio.undo_s),
            self.undo_timer: gr.Timer(value=self.studio.undo_s, active=True),
        }

    async def undo_discard(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Bring the discarded take back, chosen."""
        panel, lang = self.panel, request_language(request)
        visitor = self.shared.visitor_of(data[self.shared.visitor_token], request)
        earlier = data[panel.discarded]
        if not earlier or not await self.studio.restore(earlier[1][1], visitor=visitor):
            raise gr.Error(t(lang, "history.too_late"))
        index, take = earlier
        takes = tuple(data[panel.takes] or ())
        if index >= len(takes) or takes[index][1] != take[1]:  # a new generation has taken its place meanwhile
            gr.Info(t(lang, "page.take_back_in_history", take=index + 1))
            return self._undo_closed()
        takes = tuple(tuple(take) if i == index else t_ for i, t_ in enumerate(takes))
        return (
            panel.choose(takes, index, data[panel.kept], served=Served(self.studio.links, request))
            | {panel.takes: takes, panel.slots[index].box: gr.update(visible=True), panel.take: gr.update(value=index)}
            | self._undo_closed()
        )

    async def discard_for_good(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """The Undo offer ran out: the discarded take is removed for good (its row and its files)."""
        earlier = data[self.panel.discarded]
        if earlier:
            visitor = self.shared.visitor_of(data[self.shared.visitor_token], request)
            left = await self.studio.undo_left(earlier[1][1], visitor=visitor)
            if left:  # the timer ran on an earlier discard's schedule: wait for the end of this one's offer
                return {self.undo_timer: gr.Timer(value=left, active=True)}
            await self.studio.purge_deleted(visitor=visitor, generation_id=earlier[1][1])
        return self._undo_closed()

    def _undo_closed(self) -> dict[Any, Any]:
        panel = self.panel
        return {
            panel.discarded: None,
            panel.undo_bar: gr.update(visible=False),
            self.undo_timer: gr.Timer(active=False),
        }

    def _wire_take_actions(self, quiet: dict[str, Any]) -> None:
        panel, token = self.panel, self.shared.visitor_token
        keeping: set[Any] = {panel.generation, panel.kept, token}
        panel.keep.click(self.keep_take, keeping, [panel.kept, panel.keep, panel.unkeep], **quiet)
        panel.unkeep.click(self.unkeep_take, keeping, [panel.kept, panel.keep, panel.unkeep], **quiet)
        state: set[Any] = {panel.takes, panel.take, panel.kept, panel.discarded, token}
        shown = [*panel.choice_outputs, panel.curl, panel.python, panel.takes, panel.take, panel.discarded]
        outputs = [*shown, *(slot.box for slot in panel.slots), panel.undo_bar, panel.undo_text, self.undo_timer]
        panel.discard.click(self.discard_take, state, outputs, **quiet)
        panel.undo.click(self.undo_discard, state, outputs, **quiet)
        self.undo_timer.tick(self.discard_for_good, state, [panel.discarded, panel.undo_bar, self.undo_timer], **quiet)

    async def cancel(self, token: str | None, request: gr.Request) -> dict[Any, Any]:
        visitor = self.shared.visitor_of(token, request)
        statuses = [s for e in self.endpoints for s in await self.studio.cancel(visitor=visitor, endpoint=e)]
        lang = request_language(request)
        if not statuses:
            return {self.panel.status: status_html(JobStatus(Phase.CANCELLED, Msg("job.nothing_to_cancel")), lang)}
        shown = statuses[0] if len(statuses) == 1 else takes_status(statuses)
        return {self.panel.status: status_html(shown, lang)}

    def fill(self, form: Form, *, only: Sequence[str] | None = None) -> dict[Any, Any]:
        """The controls set as in ``form`` ("Reuse settings"), or ``only`` some of its fields (chaining)."""
        return self.bindings.fill(form.values, only=only)

    # --- controls that follow the model -------------------------------------------------------------------

    def cost_inputs(self) -> set[Any]:
        """What the cost line follows."""
        return {self.shared.provider, self.model, self.takes} | {
            c for c in (self.duration, self.audio, self.seconds) if c
        }

    def on_cost(self, data: dict[Any, Any], request: gr.Request) -> str:
        """The cost line after its duration, audio or input video changed."""
        return self._cost_of(data, data.get(self.duration), request_language(request))

    def _cost_of(self, data: Mapping[Any, Any], duration: Any, lang: str) -> str:
        return self.cost_text(
            data[self.shared.provider],
            data[self.model],
            duration=duration,
            seconds=data.get(self.seconds),
            audio=data.get(self.audio),
            takes=data.get(self.takes),
            options=self.price_options(data),
            lang=lang,
        )

    def price_options(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        """What else the price follows, by wire name (the upscaler's resolution and frame-rate boost)."""
        return {}

    def model_inputs(self) -> set[Any]:
        return self.cost_inputs() | {self.ratio}

    def model_outputs(self) -> list[Any]:
        own = [c for c in (self.duration, self.length_note_box if self.seconds is not None else None) if c is not None]
        return [self.model, self.ratio, self.cost, *own, *self.bindings.visibility_targets(), *self.model_targets()]

    def on_model(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Every control that depends on the model, after the provider or model changed."""
        spec = self.spec_for(data[self.shared.provider], data[self.model])
        lang = request_language(request)
        duration = controls.kept_duration(spec, data.get(self.duration)) if self.duration else None
        updates = {
            self.model: gr.update(info=controls.model_info(spec, lang)),
            self.ratio: controls.ratio_update(spec, data[self.ratio]),
            self.cost: self._cost_of(data, duration, lang),
        }
        if self.duration is not None:
            updates[self.duration] = controls.duration_update(spec, data.get(self.duration))
        if self.seconds is not None:
            updates[self.length_note_box] = self.length_note(data[self.seconds], spec, lang)
        return updates | self.bindings.visibility(spec) | self.model_changes(spec, data, lang)

    # --- an input video the output follows (Video to Video's input, Character Performance's reference) -----------

    def _length_note_box(self, source: Upload, elem_id: str) -> None:
        """The note under the input video the output follows (``source``); ``length_note`` says what it holds."""
        self.length_source = source
        self.seconds = gr.State(None)
        self.length_note_box = gr.Markdown(
            page_text(lambda lang: self.length_note(None, self.start_spec, lang)),
            elem_id=elem_id,
            elem_classes="rs-note",
        )

    def length_note(self, seconds: float | None, spec: ModelSpec | None, lang: str) -> str:
        """What the note under the input video says: its length, and what the model does with it."""
        raise NotImplementedError

    def length_rule(self, spec: ModelSpec | None) -> VideoInputRule | None:
        """The table's rule for the input video the output follows."""
        slot = Form.of(self.endpoint).slots[self.length_source.name]
        return spec.video_inputs.get(slot.wire) if spec else None

    async def on_input_video(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """A new input video: its length, the note about it, and the cost that follows it."""
        seconds = None
        lang = request_language(request)
        spec = self.spec_for(data[self.shared.provider], data[self.model])
        note = self.length_note(None, spec, lang)
        path = data[self.length_source.upload]
        if path:
            label = Form.of(self.endpoint).slots[self.length_source.name].label
            try:
                seconds = await self.studio.video_seconds(path, label=label)
                note = self.length_note(seconds, spec, lang)
            except InvalidInput as err:
                note = t(lang, "page.warning", text=localize(err, lang))
        cost = self._cost_of(data | {self.seconds: seconds}, data.get(self.duration), lang)
        return {self.seconds: seconds, self.length_note_box: note, self.cost: cost}

    def model_targets(self) -> list[Any]:
        """The tab's own controls that follow the model (``model_changes`` sets them)."""
        return []

    def model_changes(self, spec: ModelSpec | None, data: Mapping[Any, Any], lang: str) -> dict[Any, Any]:
        return {}

    def wire(self) -> None:
        """Connect generate, cancel, and the model's dependent controls."""
        quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
        self.model.change(self.on_model, self.model_inputs(), self.model_outputs(), **quiet)
        panel = self.panel
        inputs = self.bindings.components() | {
            self.shared.provider,
            self.shared.key_state,
            self.shared.visitor_token,
            self.parent,
        }
        # At once, in the browser: the card says it is starting, where the eye is (studio.js scrolls to it).
        self.generate_button.click(None, js=f"() => window.rsStarting && window.rsStarting('{self.prefix}')")
        self.generate_button.click(panel.clear, None, panel.extra_outputs, **quiet).then(
            self.generate,
            inputs=inputs | {self.takes, panel.takes},
            outputs=[*panel.stream_outputs, self.parent, self.generate_button, self.cancel_button],
            api_name=f"generate_{self.api_key}",
            show_progress="hidden",
        ).then(panel.finish, panel.takes, panel.finish_outputs, **quiet).then(
            self.offered, self.shared.provider, self.generate_button, **quiet
        )
        panel.take.input(
            panel.on_take,
            [panel.takes, panel.take, panel.kept],
            [*panel.choice_outputs, panel.curl, panel.python],
            **quiet,
        )
        self._wire_take_actions(quiet)
        if self.seconds is not None:
            self.length_source.upload.change(
                self.on_input_video,
                self.cost_inputs() | {self.length_source.upload},
                [self.seconds, self.length_note_box, self.cost],
                show_progress="hidden",
            )
        for control in (self.duration, self.audio, self.takes):
            if control is not None:
                control.change(self.on_cost, self.cost_inputs(), self.cost, **quiet)
        self.cancel_button.click(
            self.cancel,
            self.shared.visitor_token,
            panel.status,
            api_name=f"cancel_{self.api_key}",
            show_progress="hidden",
        )


def _default(spec: ModelSpec, option: str) -> Any:
    """What the API assumes for ``option`` when it is not sent (the table's rule), else ""."""
    rule = spec.option_rules.get(option)
    return rule.default if rule is not None and rule.default is not None else ""
