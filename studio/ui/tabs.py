"""The three generation tabs. Each builds its controls from the capability table, turns the page's values into a
``Form`` for the service layer, and streams the job's status back. No HTTP, SQL or Pillow here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from studio.capabilities import Endpoint
from studio.capabilities import provider as provider_spec
from studio.codegen import as_curl, as_python
from studio.errors import FieldIssue, InvalidInput
from studio.forms import CharacterForm, Form, ImageToVideoForm, MediaInput, VideoToVideoForm
from studio.i18n import Label, Msg, localize, request_language, t
from studio.jobs import JobStatus
from studio.service import Studio
from studio.ui import controls
from studio.ui.gradio_compat import RawImage, RawNumber, RawRadio, RawSlider, examples_without_headers
from studio.ui.status import error_html, idle_page_html, status_html
from studio.ui.translations import UI, page_text

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets" / "examples"
# Choice labels are translation keys (the browser shows them in its language); the values are what is sent.
FIT_CHOICES = [(UI("ui.fit_crop"), "crop"), (UI("ui.fit_pad"), "pad"), (UI("ui.fit_as_is"), "as-is")]
FIT_VALUES = frozenset(value for _, value in FIT_CHOICES)
THRESHOLD_CHOICES = [(UI("ui.threshold_auto"), "auto"), (UI("ui.threshold_low"), "low")]
_FITS = ("fit.crop", "fit.pad", "fit.as-is")


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


class ResultPanel:
    """Status, the clip, its download, the chaining actions and copy-as-code, for one tab."""

    def __init__(self, prefix: str) -> None:
        self.status = gr.HTML(idle_page_html(), elem_id=f"{prefix}_status")
        self.video = gr.Video(
            label=UI("ui.result"), elem_id=f"{prefix}_video", interactive=False, autoplay=True, loop=True, height=420
        )
        self.download = gr.DownloadButton(UI("ui.download_mp4"), visible=False, elem_id=f"{prefix}_download", size="sm")
        with gr.Row():
            self.to_first = gr.Button(UI("ui.to_first"), size="sm", interactive=False, elem_id=f"{prefix}_to_first")
            self.to_v2v = gr.Button(UI("ui.to_v2v"), size="sm", interactive=False, elem_id=f"{prefix}_to_v2v")
            self.to_character = gr.Button(
                UI("ui.to_character"), size="sm", interactive=False, elem_id=f"{prefix}_to_character"
            )
        self.clip = gr.State(None)  # path of this tab's latest clip
        self.generation = gr.State(None)  # and the id of the generation that made it
        self.code = gr.State(None)  # (curl, python) of the request it sent
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
        done = status.phase == "succeeded" and status.video is not None
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

    def finish(self, clip: str | None, code: tuple[str, str] | None) -> dict[Any, Any]:
        buttons = {b: gr.update(interactive=bool(clip)) for b in (self.to_first, self.to_v2v, self.to_character)}
        curl, python = code or ("", "")
        return buttons | {
            self.download: gr.update(value=clip, visible=bool(clip)),
            self.curl: curl,
            self.python: python,
        }


class GenerationTab:
    """What the three tabs share: the model/ratio/seed controls, cost line, generate and cancel."""

    endpoint: Endpoint
    prefix: str

    def __init__(self, studio: Studio, shared: Shared, *, default_provider: str) -> None:
        self.studio = studio
        self.shared = shared
        self.default_provider = default_provider
        self.start_spec = controls.first_spec(default_provider, self.endpoint)

    # --- shared controls ------------------------------------------------------------------------------------

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
                elem_id=f"{self.prefix}_model",
                allow_custom_value=True,  # an off-list value gets the studio's own message naming the field
            )
            self.ratio = gr.Dropdown(
                list(first.ratios) if first else [],
                value=first.default_ratio if first else None,
                label=UI("ui.ratio"),
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
                self.default_provider, spec.name if spec else None, spec.default_duration if spec else None, None, lang
            )
        )
        self.cost = gr.Markdown(initial, elem_id=f"{self.prefix}_cost", elem_classes="rs-cost")
        self.parent = gr.State(None)  # the generation this one continues (set by the chaining actions)
        with gr.Row():
            self.generate_button = gr.Button(
                UI("ui.generate"), variant="primary", elem_id=f"{self.prefix}_generate", scale=3
            )
            self.cancel_button = gr.Button(UI("ui.cancel"), variant="stop", elem_id=f"{self.prefix}_cancel", scale=1)

    def _seed(self, data: dict[Any, Any]) -> int | None:
        if data[self.random_seed]:
            return None
        seed = _whole(data[self.seed], "Seed")
        if seed is None:
            raise InvalidInput(FieldIssue("Seed", Msg("page.seed_empty")))
        return seed

    # --- events -------------------------------------------------------------------------------------------

    def inputs(self) -> set[Any]:
        raise NotImplementedError

    def form(self, data: dict[Any, Any]) -> Form:
        raise NotImplementedError

    def cost_text(
        self, provider: str, model: str | None, duration: int | None, seconds: float | None, lang: str = "en"
    ) -> str:
        estimate = self.studio.cost(provider=provider, model=model or "", duration=duration, input_seconds=seconds)
        spec = controls.spec_of(provider, model)
        if spec is None:
            return ""
        if estimate is None:
            return t(lang, "page.cost_per_second", credits=spec.credits_per_second, usd=spec.credits_per_second / 100)
        return t(lang, "page.cost_free" if provider == "simulator" else "page.cost", estimate=estimate.describe())

    async def generate(self, data: dict[Any, Any], request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """Prepare, submit, and stream the job's status until it ends. The form is never cleared."""
        panel: ResultPanel = self.panel
        provider = data[self.shared.provider]
        visitor = visitor_of(data[self.shared.visitor_token], request)
        lang = request_language(request)
        yield panel.reset() | {panel.status: status_html(JobStatus("preparing", Msg("job.preparing")), lang)}
        try:
            form = self.form(data)
            key, source = await self._key_and_form_checked(form, provider, data[self.shared.key_state])
            prepared = await self.studio.prepare(form, provider=provider)
            base, body = self.studio.code_base_url(provider), prepared.request.to_wire()
            job = await self.studio.start(
                prepared, form=form, visitor=visitor, key=key, key_source=source, parent_id=data[self.parent]
            )
        except InvalidInput as err:
            yield panel.refuse(error_html([localize(i, lang) for i in err.issues], lang))
            return
        code = (
            as_curl(base_url=base, endpoint=self.endpoint, body=body),
            as_python(base_url=base, endpoint=self.endpoint, body=body),
        )
        del prepared, body  # the inputs' data URIs are the job's to send, not this handler's to keep
        sent: dict[Any, Any] = {panel.code: code, self.parent: None}  # with the first status (see ResultPanel.show)
        async for status in job.follow():
            yield panel.show(status, lang) | sent
            sent = {}

    async def _key_and_form_checked(self, form: Form, provider: str, visitor_key: str | None) -> tuple[str, str]:
        """The key to use; a missing key is reported together with the form's own problems, not instead of them."""
        try:
            return self.studio.key_for(provider, visitor_key)
        except InvalidInput as missing:
            try:
                await self.studio.check(form, provider=provider)
            except InvalidInput as more:
                raise InvalidInput(missing.issues + more.issues) from None
            raise

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
            return {self.panel.status: status_html(JobStatus("cancelled", Msg("job.nothing_to_cancel")), lang)}
        return {self.panel.status: status_html(status, lang)}

    def fill(self, form: Form) -> dict[Any, Any]:
        """The controls set as in ``form`` ("Reuse settings")."""
        raise NotImplementedError

    def fill_targets(self) -> list[Any]:
        """Every control ``fill`` sets (the outputs of "Reuse settings")."""
        return [self.model, self.ratio, self.random_seed, self.seed]

    def _fill_common(self, form: Form) -> dict[Any, Any]:
        seeded = form.seed is not None
        return {
            self.model: form.model,
            self.ratio: form.ratio,
            self.random_seed: not seeded,
            self.seed: gr.update(value=form.seed, visible=seeded),
        }

    def model_inputs(self) -> list[Any]:
        return [self.shared.provider, self.model, self.ratio, self.seconds]

    def model_outputs(self) -> list[Any]:
        return [self.ratio, self.cost]

    def on_model(
        self, provider: str, model: str | None, ratio: str | None, seconds: float | None, request: gr.Request
    ) -> dict[Any, Any]:
        """The controls that depend on the model, after the provider or model changed."""
        spec = controls.spec_of(provider, model)
        lang = request_language(request)
        return {
            self.ratio: controls.ratio_update(spec, ratio),
            self.cost: self.cost_text(provider, model, None, seconds, lang),
        }

    def wire(self) -> None:
        """Connect generate, cancel, and the model's dependent controls."""
        self.model.change(self.on_model, self.model_inputs(), self.model_outputs(), queue=False, show_progress="hidden")
        panel = self.panel
        quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
        self.generate_button.click(panel.clear, None, panel.extra_outputs, **quiet).then(
            self.generate,
            inputs=self.inputs(),
            outputs=[*panel.stream_outputs, self.parent],
            api_name=f"generate_{self.endpoint}",
            show_progress="hidden",
        ).then(panel.finish, [panel.clip, panel.code], panel.extra_outputs, **quiet)
        self.cancel_button.click(
            self.cancel,
            self.shared.visitor_token,
            panel.status,
            api_name=f"cancel_{self.endpoint}",
            show_progress="hidden",
        )


def _session(request: gr.Request) -> str:
    return request.session_hash or "anonymous"


def _whole(value: Any, label: str) -> int | None:
    """A whole number typed or chosen in a control; InvalidInput naming the control when it is not one."""
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(FieldIssue(label, Msg("req.whole_number", field=Label(label), value=value))) from None
    if not number.is_integer():
        raise InvalidInput(FieldIssue(label, Msg("req.whole_number", field=Label(label), value=value)))
    return int(number)


def _fit(value: Any) -> Any:
    """The fit choice, checked here: an API caller can send anything."""
    if value not in FIT_VALUES:
        label = Label("Fit the image to the ratio")
        raise InvalidInput(FieldIssue(str(label), Msg("form.fit_choices", field=label, value=repr(value))))
    return value


def _media(path: Any, url: Any) -> MediaInput:
    return MediaInput(path=str(path) if path else None, url=(url or "").strip() or None)


def _url_box(label: Any, prefix: str, *, interactive: bool = True) -> gr.Textbox:
    return gr.Textbox(
        label=label, placeholder=UI("ui.url_placeholder"), max_lines=1, elem_id=prefix, interactive=interactive
    )


def asset(name: str) -> str:
    """A bundled example file (made by assets/make_assets.py)."""
    return str(ASSETS / name)


# --- Image to Video ---------------------------------------------------------------------------------------------


class ImageToVideoTab(GenerationTab):
    endpoint: Endpoint = "image_to_video"
    prefix = "i2v"

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    with gr.Column():
                        self.first = RawImage(
                            label=UI("ui.first_frame"),
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard"],
                            elem_id="i2v_first",
                            height=220,
                        )
                        self.first_url = _url_box(UI("ui.first_frame_link"), "i2v_first_url")
                    with gr.Column():
                        spec = self.start_spec
                        last_ok = spec is not None and spec.supports_last_frame
                        self.last = RawImage(
                            label=UI("ui.last_frame"),
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard"],
                            elem_id="i2v_last",
                            height=220,
                            interactive=last_ok,
                        )
                        self.last_url = _url_box(UI("ui.last_frame_link"), "i2v_last_url", interactive=last_ok)
                        self.last_note = gr.Markdown(
                            page_text(lambda lang: controls.last_frame_note(self.default_provider, spec, lang)),
                            elem_id="i2v_last_note",
                            elem_classes="rs-note",
                        )
                self._prompt(placeholder=UI("ui.i2v_prompt_placeholder"))
                self._model_controls()
                with gr.Row():
                    self.duration = gr.Dropdown(
                        controls.duration_choices(spec),
                        value=str(spec.default_duration) if spec else None,
                        label=UI("ui.duration_s"),
                        elem_id="i2v_duration",
                        allow_custom_value=True,
                    )
                    self.fit = RawRadio(FIT_CHOICES, value="crop", label=UI("ui.fit"), elem_id="i2v_fit")
                self._seed_controls()
                with gr.Accordion(
                    UI("ui.openai_hk_options"), open=False, visible=self.default_provider == "openai-hk"
                ) as self.extras:
                    self.watermark = gr.Checkbox(False, label=UI("ui.watermark"))
                    self.notify_hook = gr.Textbox(label=UI("ui.notify_hook"), max_lines=1)
                self._actions()
                examples_without_headers(
                    label=UI("ui.examples"),
                    examples=[
                        [
                            asset("lighthouse_dawn.jpg"),
                            None,
                            "The camera drifts slowly toward the lighthouse as waves roll in",
                            "gen4_turbo",
                            "1280:720",
                            "5",
                        ],
                        [
                            asset("lighthouse_dawn.jpg"),
                            asset("lighthouse_dusk.jpg"),
                            "Time passes from dawn to dusk and the lamp lights up",
                            "gen3a_turbo",
                            None,
                            "5",
                        ],
                        [
                            asset("paper_boats.png"),
                            None,
                            "Paper boats drift across the pond in a light breeze",
                            "gen4_turbo",
                            "960:960",
                            "5",
                        ],
                    ],
                    inputs=[self.first, self.last, self.prompt, self.model, self.ratio, self.duration],
                )
            with gr.Column(scale=2):
                self.panel = ResultPanel(self.prefix)
                with gr.Accordion(UI("ui.what_will_be_sent"), open=False):
                    self.preview = gr.Image(
                        label=UI("ui.first_frame_as_sent"), interactive=False, elem_id="i2v_preview", height=200
                    )
                    self.preview_note = gr.Markdown(elem_id="i2v_preview_note")

    def inputs(self) -> set[Any]:
        return {
            self.shared.provider,
            self.shared.key_state,
            self.shared.visitor_token,
            self.parent,
            self.first,
            self.first_url,
            self.last,
            self.last_url,
            self.prompt,
            self.model,
            self.ratio,
            self.duration,
            self.fit,
            self.random_seed,
            self.seed,
            self.watermark,
            self.notify_hook,
        }

    def form(self, data: dict[Any, Any]) -> ImageToVideoForm:
        extras = data[self.shared.provider] == "openai-hk"
        return ImageToVideoForm(
            model=data[self.model],
            ratio=data[self.ratio],
            first=_media(data[self.first], data[self.first_url]),
            last=_media(data[self.last], data[self.last_url]),
            prompt=data[self.prompt] or "",
            duration=_whole(data[self.duration], "Duration"),
            seed=self._seed(data),
            fit=_fit(data[self.fit]),
            watermark=bool(data[self.watermark]) if extras else None,
            notify_hook=(data[self.notify_hook] or None) if extras else None,
        )

    def fill_targets(self) -> list[Any]:
        return super().fill_targets() + [
            self.first,
            self.first_url,
            self.last,
            self.last_url,
            self.prompt,
            self.duration,
            self.fit,
            self.watermark,
            self.notify_hook,
        ]

    def fill(self, form: Form) -> dict[Any, Any]:
        assert isinstance(form, ImageToVideoForm)
        return self._fill_common(form) | {
            self.first: form.first.path,
            self.first_url: form.first.url or "",
            self.last: form.last.path,
            self.last_url: form.last.url or "",
            self.prompt: form.prompt,
            self.duration: str(form.duration) if form.duration else None,
            self.fit: form.fit,
            self.watermark: bool(form.watermark),
            self.notify_hook: form.notify_hook or "",
        }

    def model_inputs(self) -> list[Any]:
        return [self.shared.provider, self.model, self.ratio, self.duration]

    def model_outputs(self) -> list[Any]:
        return [self.ratio, self.duration, self.last, self.last_url, self.last_note, self.extras, self.cost]

    def on_model(
        self, provider: str, model: str | None, ratio: str | None, duration: Any, request: gr.Request
    ) -> dict[Any, Any]:  # type: ignore[override]
        spec = controls.spec_of(provider, model)
        lang = request_language(request)
        last_ok = spec is not None and spec.supports_last_frame
        new_duration = str(duration or "")
        if spec and spec.durations and new_duration not in controls.duration_choices(spec):
            new_duration = str(spec.default_duration)
        return {
            self.ratio: controls.ratio_update(spec, ratio),
            self.duration: controls.duration_update(spec, duration),
            self.last: gr.update(interactive=last_ok),
            self.last_url: gr.update(interactive=last_ok),
            self.last_note: controls.last_frame_note(provider, spec, lang),
            # The proxy's own fields; the simulator accepts them too (it serves the proxy's table) but shows no effect.
            self.extras: gr.update(visible=provider == "openai-hk" and spec is not None and bool(spec.extra_fields)),
            self.cost: self.cost_text(
                provider, model, int(new_duration) if new_duration.isdigit() else None, None, lang
            ),
        }

    async def on_preview(
        self, provider: str, path: str | None, ratio: str | None, fit: str, request: gr.Request
    ) -> dict[Any, Any]:
        if not path or not ratio:
            return {self.preview: None, self.preview_note: ""}
        lang = request_language(request)
        try:
            image = await self.studio.preview_image(path, label="First frame", ratio=ratio, fit=fit, provider=provider)  # type: ignore[arg-type]
        except InvalidInput as err:
            return {self.preview: None, self.preview_note: t(lang, "page.warning", text=localize(err, lang))}
        fitted = Msg(f"fit.{fit}") if f"fit.{fit}" in _FITS else fit
        return {
            self.preview: image,
            self.preview_note: t(lang, "page.preview", width=image.width, height=image.height, fit=fitted),
        }

    def on_duration(self, provider: str, model: str | None, duration: Any, request: gr.Request) -> str:
        return self.cost_text(
            provider, model, int(duration) if str(duration).isdigit() else None, None, request_language(request)
        )

    def wire(self) -> None:
        super().wire()
        self.duration.change(
            self.on_duration,
            [self.shared.provider, self.model, self.duration],
            self.cost,
            queue=False,
            show_progress="hidden",
        )
        preview_inputs = [self.shared.provider, self.first, self.ratio, self.fit]
        for trigger in (self.first.change, self.ratio.change, self.fit.change):
            trigger(self.on_preview, preview_inputs, [self.preview, self.preview_note], show_progress="hidden")


# --- Video to Video -------------------------------------------------------------------------------------------


class VideoToVideoTab(GenerationTab):
    endpoint: Endpoint = "video_to_video"
    prefix = "v2v"

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    with gr.Column():
                        self.video = gr.Video(
                            label=UI("ui.input_video"), sources=["upload"], elem_id="v2v_video_in", height=220
                        )
                        self.video_url = _url_box(UI("ui.input_video_link"), "v2v_video_url")
                        self.video_note = gr.Markdown(
                            page_text(lambda lang: self._use_note(None, lang=lang)),
                            elem_id="v2v_video_note",
                            elem_classes="rs-note",
                        )
                    with gr.Column():
                        self.reference = RawImage(
                            label=UI("ui.reference_image"),
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard"],
                            elem_id="v2v_reference",
                            height=220,
                        )
                        self.reference_url = _url_box(UI("ui.reference_image_link"), "v2v_reference_url")
                self._prompt(placeholder=UI("ui.v2v_prompt_placeholder"))
                self._model_controls()
                with gr.Row():
                    self.threshold = RawRadio(
                        THRESHOLD_CHOICES, value="auto", label=UI("ui.public_figure_threshold"), elem_id="v2v_threshold"
                    )
                self._seed_controls()
                self._actions()
                examples_without_headers(
                    label=UI("ui.examples"),
                    examples=[
                        [
                            asset("city_drive.mp4"),
                            asset("watercolor_reference.jpg"),
                            "Repaint the city as a teal and gold watercolour",
                            "1280:720",
                        ]
                    ],
                    inputs=[self.video, self.reference, self.prompt, self.ratio],
                )
            with gr.Column(scale=2):
                self.panel = ResultPanel(self.prefix)
        self.seconds = gr.State(None)

    def _use_note(self, seconds: float | None, provider: str | None = None, lang: str = "en") -> str:
        spec = controls.first_spec(provider or self.default_provider, self.endpoint)
        rule = spec.video_inputs.get("videoUri") if spec else None
        limit = (
            t(lang, "page.first_seconds_used", seconds=rule.use_first_seconds)
            if rule and rule.use_first_seconds
            else ""
        )
        length = t(lang, "page.video_length", seconds=seconds) if seconds else ""
        return f"{length}{limit}"

    def inputs(self) -> set[Any]:
        return {
            self.shared.provider,
            self.shared.key_state,
            self.shared.visitor_token,
            self.parent,
            self.video,
            self.video_url,
            self.reference,
            self.reference_url,
            self.prompt,
            self.model,
            self.ratio,
            self.threshold,
            self.random_seed,
            self.seed,
        }

    def form(self, data: dict[Any, Any]) -> VideoToVideoForm:
        return VideoToVideoForm(
            model=data[self.model] or "",
            ratio=data[self.ratio] or "",
            video=_media(data[self.video], data[self.video_url]),
            reference=_media(data[self.reference], data[self.reference_url]),
            prompt=data[self.prompt] or "",
            seed=self._seed(data),
            threshold=data[self.threshold],
        )

    def fill_targets(self) -> list[Any]:
        return super().fill_targets() + [
            self.video,
            self.video_url,
            self.reference,
            self.reference_url,
            self.prompt,
            self.threshold,
        ]

    def fill(self, form: Form) -> dict[Any, Any]:
        assert isinstance(form, VideoToVideoForm)
        return self._fill_common(form) | {
            self.video: form.video.path,
            self.video_url: form.video.url or "",
            self.reference: form.reference.path,
            self.reference_url: form.reference.url or "",
            self.prompt: form.prompt,
            self.threshold: form.threshold,
        }

    async def on_video(self, provider: str, model: str | None, path: str | None, request: gr.Request) -> dict[Any, Any]:
        seconds = None
        lang = request_language(request)
        note = self._use_note(None, provider, lang)
        if path:
            try:
                seconds = await self.studio.video_seconds(path, label="Input video")
                note = self._use_note(seconds, provider, lang)
            except InvalidInput as err:
                note = t(lang, "page.warning", text=localize(err, lang))
        return {
            self.seconds: seconds,
            self.video_note: note,
            self.cost: self.cost_text(provider, model, None, seconds, lang),
        }

    def wire(self) -> None:
        super().wire()
        self.video.change(
            self.on_video,
            [self.shared.provider, self.model, self.video],
            [self.seconds, self.video_note, self.cost],
            show_progress="hidden",
        )


# --- Character Performance ----------------------------------------------------------------------------------


class CharacterTab(GenerationTab):
    endpoint: Endpoint = "character_performance"
    prefix = "cp"

    def build(self) -> None:
        spec = self.start_spec
        low, high, default = spec.expression_intensity if spec and spec.expression_intensity else (1, 5, 3)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    with gr.Column():
                        self.character_type = RawRadio(
                            [(UI("ui.character_image_choice"), "image"), (UI("ui.character_video_choice"), "video")],
                            value="image",
                            label=UI("ui.character_as"),
                            elem_id="cp_character_type",
                        )
                        self.character_image = RawImage(
                            label=UI("ui.character_image"),
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard"],
                            elem_id="cp_character_image",
                            height=220,
                        )
                        self.character_video = gr.Video(
                            label=UI("ui.character_video"),
                            sources=["upload"],
                            visible=False,
                            elem_id="cp_character_video",
                            height=220,
                        )
                        self.character_url = _url_box(UI("ui.character_link"), "cp_character_url")
                        gr.Markdown(UI("ui.character_hint"), elem_classes="rs-note")
                    with gr.Column():
                        self.reference = gr.Video(
                            label=UI("ui.reference_performance"), sources=["upload"], elem_id="cp_reference", height=220
                        )
                        self.reference_url = _url_box(UI("ui.reference_performance_link"), "cp_reference_url")
                        self.reference_note = gr.Markdown(
                            page_text(lambda lang: self._length_note(None, lang=lang)),
                            elem_id="cp_reference_note",
                            elem_classes="rs-note",
                        )
                self._model_controls()
                with gr.Row():
                    self.body_control = gr.Checkbox(True, label=UI("ui.body_control"), elem_id="cp_body_control")
                    self.intensity = RawSlider(
                        low, high, value=default, step=1, label=UI("ui.expression_intensity"), elem_id="cp_intensity"
                    )
                self.threshold = RawRadio(
                    THRESHOLD_CHOICES, value="auto", label=UI("ui.public_figure_threshold"), elem_id="cp_threshold"
                )
                self._seed_controls()
                self._actions()
                examples_without_headers(
                    label=UI("ui.examples"),
                    examples=[[asset("robot_character.png"), asset("nodding_performance.mp4"), "832:1104"]],
                    inputs=[self.character_image, self.reference, self.ratio],
                )
            with gr.Column(scale=2):
                self.panel = ResultPanel(self.prefix)
        self.seconds = gr.State(None)

    def _length_note(self, seconds: float | None, provider: str | None = None, lang: str = "en") -> str:
        spec = controls.first_spec(provider or self.default_provider, self.endpoint)
        rule = spec.video_inputs.get("reference") if spec else None
        allowed = (
            t(lang, "page.allowed_length", low=rule.min_seconds, high=rule.max_seconds)
            if rule and rule.min_seconds and rule.max_seconds
            else ""
        )
        if seconds is None:
            return t(lang, "page.reference_follows", allowed=allowed)
        ok = rule is None or ((rule.min_seconds or 0) <= seconds <= (rule.max_seconds or seconds))
        return t(lang, "page.reference_length" if ok else "page.reference_length_bad", seconds=seconds, allowed=allowed)

    def inputs(self) -> set[Any]:
        return {
            self.shared.provider,
            self.shared.key_state,
            self.shared.visitor_token,
            self.parent,
            self.character_type,
            self.character_image,
            self.character_video,
            self.character_url,
            self.reference,
            self.reference_url,
            self.model,
            self.ratio,
            self.body_control,
            self.intensity,
            self.threshold,
            self.random_seed,
            self.seed,
        }

    def form(self, data: dict[Any, Any]) -> CharacterForm:
        kind = data[self.character_type]
        upload = data[self.character_image] if kind == "image" else data[self.character_video]
        return CharacterForm(
            model=data[self.model] or "",
            ratio=data[self.ratio] or "",
            character=_media(upload, data[self.character_url]),
            character_type=kind,
            reference=_media(data[self.reference], data[self.reference_url]),
            body_control=bool(data[self.body_control]),
            intensity=_whole(data[self.intensity], "Expression intensity") or 0,
            seed=self._seed(data),
            threshold=data[self.threshold],
        )

    def fill_targets(self) -> list[Any]:
        return super().fill_targets() + [
            self.character_type,
            self.character_image,
            self.character_video,
            self.character_url,
            self.reference,
            self.reference_url,
            self.body_control,
            self.intensity,
            self.threshold,
        ]

    def fill(self, form: Form) -> dict[Any, Any]:
        assert isinstance(form, CharacterForm)
        image = form.character_type == "image"
        return self._fill_common(form) | {
            self.character_type: form.character_type,
            self.character_image: gr.update(value=form.character.path if image else None, visible=image),
            self.character_video: gr.update(value=None if image else form.character.path, visible=not image),
            self.character_url: form.character.url or "",
            self.reference: form.reference.path,
            self.reference_url: form.reference.url or "",
            self.body_control: form.body_control,
            self.intensity: form.intensity,
            self.threshold: form.threshold,
        }

    async def on_reference(
        self, provider: str, model: str | None, path: str | None, request: gr.Request
    ) -> dict[Any, Any]:
        seconds = None
        lang = request_language(request)
        note = self._length_note(None, provider, lang)
        if path:
            try:
                seconds = await self.studio.video_seconds(path, label="Reference performance video")
                note = self._length_note(seconds, provider, lang)
            except InvalidInput as err:
                note = t(lang, "page.warning", text=localize(err, lang))
        return {
            self.seconds: seconds,
            self.reference_note: note,
            self.cost: self.cost_text(provider, model, None, seconds, lang),
        }

    def wire(self) -> None:
        super().wire()
        self.character_type.change(
            lambda kind: {
                self.character_image: gr.update(visible=kind == "image"),
                self.character_video: gr.update(visible=kind == "video"),
            },
            self.character_type,
            [self.character_image, self.character_video],
            queue=False,
            show_progress="hidden",
        )
        self.reference.change(
            self.on_reference,
            [self.shared.provider, self.model, self.reference],
            [self.seconds, self.reference_note, self.cost],
            show_progress="hidden",
        )
