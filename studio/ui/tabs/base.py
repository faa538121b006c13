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
from studio.errors import InvalidInput
from studio.forms import Form
from studio.i18n import Msg, localize, request_language, t
from studio.jobs import JobStatus
from studio.phases import Phase
from studio.pricing import credits_per_second
from studio.service import Studio
from studio.ui import controls
from studio.ui.bindings import Bindings, Field, Seed, Upload, text, text_or_none, whole
from studio.ui.gradio_compat import RawNumber, RawRadio, examples_without_headers
from studio.ui.result_panel import ResultPanel
from studio.ui.status import error_html, status_html
from studio.ui.translations import UI, page_text

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "examples"


def asset(name: str) -> str:
    """A bundled example file (made by assets/make_assets.py)."""
    return str(ASSETS / name)


@dataclass
class Shared:
    """Controls every tab reads: the provider, the visitor's key (server-side session state) and who they are."""

    provider: gr.Radio
    key_state: gr.State
    visitor_token: gr.BrowserState


def visitor_of(token: str | None, request: gr.Request) -> str:
    """Who is asking: their Hugging Face account when signed in on a Space, else the random token their browser
    keeps, else (an API client without one) their session."""
    username = getattr(request, "username", None)
    if username:
        return f"hf:{username}"
    if token:
        return f"browser:{token}"
    return f"session:{request.session_hash or 'anonymous'}"


THRESHOLD_CHOICES = [(UI("ui.threshold_auto"), "auto"), (UI("ui.threshold_low"), "low")]


def threshold_radio(prefix: str) -> RawRadio:
    """The public-figure threshold (contentModeration)."""
    label = UI("ui.public_figure_threshold")
    return RawRadio(THRESHOLD_CHOICES, value="auto", label=label, elem_id=f"{prefix}_threshold")


def threshold_field(radio: RawRadio) -> Field:
    return Field(radio, "threshold", option="contentModeration", empty="auto")


def url_box(label: Any, elem_id: str, *, interactive: bool = True) -> gr.Textbox:
    return gr.Textbox(
        label=label, placeholder=UI("ui.url_placeholder"), max_lines=1, elem_id=elem_id, interactive=interactive
    )


class GenerationTab:
    """One generation tab. Subclasses set ``endpoint`` and ``prefix`` and implement ``build`` (which ends by
    setting ``self.bindings``); they may add controls that follow the model (``model_changes``)."""

    endpoint: Endpoint
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
        self.start_spec = controls.first_spec(default_provider, self.endpoint)

    EXAMPLES: Sequence[Mapping[str, Any]] = ()  # one-click examples: each a form's values by field name

    def build(self) -> None:
        """The tab: its form (``build_form``, which sets ``self.bindings``) and its examples on the left, the result
        on the right."""
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.build_form()
                self._examples()
            with gr.Column(scale=2):
                self.panel = ResultPanel(self.prefix)
                self.build_result()

    def build_form(self) -> None:
        raise NotImplementedError

    def _examples(self) -> None:
        """The examples, one set per model table (the proxy's, the official API's): a set offers the examples whose
        model its providers serve, and shows while such a provider is chosen."""
        self.example_sets: dict[Any, frozenset[str]] = {}  # container -> the providers it is shown for
        tables: dict[frozenset[str], list[str]] = {}
        for spec in PROVIDERS.values():
            tables.setdefault(frozenset(m.name for m in spec.models_for(self.endpoint)), []).append(spec.name)
        for served, providers in tables.items():
            rows = [row for row in self.EXAMPLES if row.get("model", next(iter(served), None)) in served]
            if not rows:
                continue
            inputs, values = self.bindings.examples(rows)
            with gr.Column(visible=self.default_provider in providers) as box:
                examples_without_headers(label=UI("ui.examples"), examples=values, inputs=inputs)
            self.example_sets[box] = frozenset(providers)

    def examples_for(self, provider: str) -> dict[Any, Any]:
        """The example sets shown for ``provider``."""
        return {box: gr.update(visible=provider in providers) for box, providers in self.example_sets.items()}

    def build_result(self) -> None:
        """Anything the tab shows under its result panel."""

    # --- the controls every tab has --------------------------------------------------------------------------

    def _model_controls(self) -> None:
        first = self.start_spec
        self.unavailable = gr.Markdown(
            page_text(
                lambda lang: controls.unavailable_note(provider_spec(self.default_provider), self.endpoint, lang)
            ),
            elem_classes="rs-warning",
        )
        with gr.Row():
            self.model = gr.Dropdown(
                controls.model_choices(self.default_provider, self.endpoint),
                value=first.name if first else None,
                label=UI("ui.model"),
                info=page_text(lambda lang: controls.model_info(first, lang)) or None,
                elem_id=f"{self.prefix}_model",
                allow_custom_value=True,  # an off-list value gets the studio's own message naming the field
            )
            self.ratio = gr.Dropdown(
                list(first.ratios) if first else [],
                value=first.default_ratio if first else None,
                label=UI("ui.ratio"),
                visible=first is None or bool(first.ratios),  # aleph2 keeps its input's size: no ratio to choose
                elem_id=f"{self.prefix}_ratio",
                allow_custom_value=True,
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
        self.cost = gr.Markdown(initial, elem_id=f"{self.prefix}_cost", elem_classes="rs-cost")
        self.parent = gr.State(None)  # the generation this one continues (set by the chaining actions)
        with gr.Row():
            self.generate_button = gr.Button(
                UI("ui.generate"), variant="primary", elem_id=f"{self.prefix}_generate", scale=3
            )
            self.cancel_button = gr.Button(UI("ui.cancel"), variant="stop", elem_id=f"{self.prefix}_cancel", scale=1)

    def _duration_control(self) -> None:
        spec = self.start_spec
        self.duration = gr.Dropdown(
            controls.duration_choices(spec),
            value=str(spec.default_duration) if spec and spec.default_duration else None,
            label=UI("ui.duration_s"),
            elem_id=f"{self.prefix}_duration",
            allow_custom_value=True,
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
        spec = controls.spec_of(data[self.shared.provider], self.endpoint, data[self.model])
        return Form(self.endpoint, self.bindings.read(data, spec))

    def cost_text(
        self,
        provider: str,
        model: str | None,
        *,
        duration: Any = None,
        seconds: float | None = None,
        audio: bool | None = None,
        lang: str = "en",
    ) -> str:
        """The cost line: the estimate for the chosen length (and Veo's audio), or the price per second while the
        length is not known yet (it follows an input video not given yet)."""
        spec = controls.spec_of(provider, self.endpoint, model)
        if spec is None:
            return ""
        whole = int(duration) if str(duration or "").isdigit() else None
        estimate = self.studio.cost(
            provider=provider,
            endpoint=self.endpoint,
            model=spec.name,
            duration=whole,
            input_seconds=seconds,
            audio=audio,
        )
        if estimate is None:
            per_second = credits_per_second(spec, audio=audio)
            key = "page.cost_per_second_third_party" if spec.price_is_estimate else "page.cost_per_second"
            return t(lang, key, credits=per_second, usd=per_second / 100)
        free = provider_spec(provider).simulated
        return t(lang, "page.cost_free" if free else "page.cost", estimate=estimate.describe())

    async def generate(self, data: dict[Any, Any], request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """Submit the form and stream the job's status until it ends. The form is never cleared."""
        panel = self.panel
        lang = request_language(request)
        yield panel.reset() | {panel.status: status_html(JobStatus(Phase.PREPARING, Msg("job.preparing")), lang)}
        try:
            job = await self.studio.submit(
                self.form(data),
                provider=data[self.shared.provider],
                visitor=visitor_of(data[self.shared.visitor_token], request),
                visitor_key=data[self.shared.key_state],
                parent_id=data[self.parent],
            )
        except InvalidInput as err:
            yield panel.refuse(error_html([localize(i, lang) for i in err.issues], lang))
            return
        sent: dict[Any, Any] = {panel.code: job.code, self.parent: None}  # with the first status (ResultPanel.show)
        async for status in job.follow():
            yield panel.show(status, lang) | sent
            sent = {}

    async def reattach(self, token: str | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """On page load: if this visitor's generation on this tab is still running, follow it again."""
        job = self.studio.live_job(visitor=visitor_of(token, request), endpoint=self.endpoint)
        if job is None or job.status.final:
            yield gr.skip()  # a generator that yields nothing would blank every output (the Ready panel among them)
            return
        lang = request_language(request)
        async for status in job.follow():
            yield self.panel.show(status, lang)

    async def cancel(self, token: str | None, request: gr.Request) -> dict[Any, Any]:
        status = await self.studio.cancel(visitor=visitor_of(token, request), endpoint=self.endpoint)
        lang = request_language(request)
        if status is None:
            return {self.panel.status: status_html(JobStatus(Phase.CANCELLED, Msg("job.nothing_to_cancel")), lang)}
        return {self.panel.status: status_html(status, lang)}

    def fill(self, form: Form, *, only: Sequence[str] | None = None) -> dict[Any, Any]:
        """The controls set as in ``form`` ("Reuse settings"), or ``only`` some of its fields (chaining)."""
        return self.bindings.fill(form.values, only=only)

    # --- controls that follow the model -------------------------------------------------------------------

    def cost_inputs(self) -> set[Any]:
        """What the cost line follows."""
        return {self.shared.provider, self.model} | {c for c in (self.duration, self.audio, self.seconds) if c}

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
            lang=lang,
        )

    def model_inputs(self) -> set[Any]:
        return self.cost_inputs() | {self.ratio}

    def model_outputs(self) -> list[Any]:
        own = [c for c in (self.duration, self.length_note_box if self.seconds is not None else None) if c is not None]
        return [self.model, self.ratio, self.cost, *own, *self.bindings.visibility_targets(), *self.model_targets()]

    def on_model(self, data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        """Every control that depends on the model, after the provider or model changed."""
        spec = controls.spec_of(data[self.shared.provider], self.endpoint, data[self.model])
        lang = request_language(request)
        duration = controls.kept_duration(spec, data.get(self.duration)) if self.duration else None
        updates = {
            self.model: gr.update(info=controls.model_info(spec, lang)),
            self.ratio: controls.ratio_update(spec, data[self.ratio]),
            self.cost: self._cost_of(data, duration, lang),
        }
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
        spec = controls.spec_of(data[self.shared.provider], self.endpoint, data[self.model])
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
        self.generate_button.click(panel.clear, None, panel.extra_outputs, **quiet).then(
            self.generate,
            inputs=inputs,
            outputs=[*panel.stream_outputs, self.parent],
            api_name=f"generate_{self.endpoint}",
            show_progress="hidden",
        ).then(panel.finish, [panel.clip, panel.code], panel.extra_outputs, **quiet)
        if self.seconds is not None:
            self.length_source.upload.change(
                self.on_input_video,
                self.cost_inputs() | {self.length_source.upload},
                [self.seconds, self.length_note_box, self.cost],
                show_progress="hidden",
            )
        for control in (self.duration, self.audio):
            if control is not None:
                control.change(self.on_cost, self.cost_inputs(), self.cost, **quiet)
        self.cancel_button.click(
            self.cancel,
            self.shared.visitor_token,
            panel.status,
            api_name=f"cancel_{self.endpoint}",
            show_progress="hidden",
        )
