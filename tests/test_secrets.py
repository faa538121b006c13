"""Secrets and isolation: a visitor's own key goes to the provider and nowhere else; two visitors with two keys
each send their own and see only their own; and the studio never fetches a URL a visitor typed.

The studio here runs as a host would run it for openai-hk with no server key (every visitor brings theirs),
pointed at a standalone simulator on a loopback port that records each task's Authorization header, so a test
can prove the key did reach the provider (and would fail if the studio sent another one, or none).
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from studio.capabilities import SIMULATOR
from studio.forms import Form, MediaInput
from studio.service import Studio
from studio.settings import Settings
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig
from studio.simulator.inputs import InputUnavailable, load_uri
from studio.wiring import build_studio
from tests.appclient import submit_paper_boats
from tests.conftest import ASSETS, serve
from tests.e2e.conftest import VIEWPORT, launched_chromium, sync_playwright_driver
from tests.fakes import ServerThread

SECRET = "sk-FAKE-SECRET-7c1e9"
MARK = "FAKE-SECRET-7c1e9"  # what must appear nowhere (the key without its common prefix)
FINAL = ("succeeded", "failed", "cancelled", "lost", "interrupted", "invalid")
THUMBNAILS = "#history_grid .rs-tile"


# --- a studio as a host runs it: openai-hk, no server key, a standalone simulator behind it ---------------------------


@dataclass
class Hosted:
    url: str
    studio: Studio
    simulator: Any
    data_dir: Path
    logs: io.StringIO

    @property
    def tasks(self) -> dict[str, Any]:
        return self.simulator.state.engine.tasks

    def history_row(self, task_id: str) -> dict[str, Any]:
        db = sqlite3.connect(f"file:{self.studio.history.path}?mode=ro", uri=True, timeout=5.0)
        db.row_factory = sqlite3.Row
        try:
            row = db.execute("SELECT * FROM generations WHERE task_id = ?", (task_id,)).fetchone()
        finally:
            db.close()
        assert row is not None, f"no history row for task {task_id}"
        return dict(row)


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    """Everything logged from before launch to teardown, at DEBUG, is kept in ``logs``."""
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    tmp = tmp_path_factory.mktemp("secrets")
    simulator = create_app(SimulatorConfig(pending_s=0.2, running_s=1.0, output_dir=tmp / "sim"))
    try:
        with ServerThread(simulator) as base_url:
            env = {
                "STUDIO_PROVIDER": "openai-hk",
                "STUDIO_BASE_URL": base_url + "/runwayml",  # the proxy's dialect, as its real base URL
                "STUDIO_DATA_DIR": str(tmp / "data"),
            }
            with serve(env) as launched:
                assert launched.settings.server_key == ""  # no server key: only a visitor's own key can be used
                yield Hosted(launched.url, launched.studio, simulator, launched.settings.data_dir, logs)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- a real browser (as the browser tests find one), skipped without one unless CI=true ------------------------------


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's sync API keeps an event loop running in this thread while it is open, which would
    stop the async tests of this module from running."""
    with sync_playwright_driver() as driver, launched_chromium(driver) as chromium:
        yield chromium


@pytest.fixture
def new_visitor(browser: Any) -> Iterator[Any]:
    """Makes pages, each in its own browser context: its own cookies, storage and Gradio session."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_with_key(page: Any, url: str, key: str) -> None:
    """Open the page, open Settings, pick openai-hk and type one's own key into the key box."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")
    page.locator("#settings").get_by_role("button", name="Settings").click()
    page.locator("#provider").get_by_label("openai-hk", exact=True).check()
    box = page.locator("#api_key input")
    box.fill(key)
    box.press("Tab")
    page.wait_for_function("() => /Key in use:\\s*your key/.test(document.querySelector('#key_in_use').innerText)")


def fill_i2v(page: Any, image: str, *, prompt: str = "") -> None:
    page.set_input_files("#i2v_first input[type=file]", str(ASSETS / image))
    page.wait_for_selector("#i2v_first img", state="attached")
    page.locator("#i2v_ratio input[role=combobox]").click()
    page.get_by_role("listbox").get_by_role("option", name="960:960", exact=True).click()
    page.get_by_role("listbox").wait_for(state="detached")
    page.fill("#i2v_prompt textarea", prompt)


def phase(page: Any) -> str:
    return page.evaluate("() => document.querySelector('#i2v_status .rs-status')?.dataset.phase || ''")


def task_id(page: Any) -> str:
    return page.inner_text("#i2v_status .rs-task-id").strip()


def click_generate(page: Any) -> None:
    """Press Generate and wait until the panel shows this generation (not the previous one's final state)."""
    before = page.evaluate("() => document.querySelector('#i2v_status .rs-task-id')?.textContent.trim() || ''")
    page.click("#i2v_generate")
    page.wait_for_function(
        """(old) => { const s = document.querySelector('#i2v_status .rs-status'); if (!s) return false;
                      const t = s.querySelector('.rs-task-id')?.textContent.trim() || '';
                      return s.dataset.phase === 'invalid' || (t !== '' && t !== old); }""",
        arg=before,
    )


def wait_final(page: Any, *, timeout_ms: float = 90_000) -> str:
    page.wait_for_function(
        "(final) => final.includes(document.querySelector('#i2v_status .rs-status')?.dataset.phase)",
        arg=list(FINAL),
        timeout=timeout_ms,
    )
    return phase(page)


def open_history(page: Any, expected: int) -> str:
    """Open History, wait for ``expected`` thumbnails, select the newest; its details text."""
    page.get_by_role("tab", name="History", exact=True).click()
    page.wait_for_selector("#history_refresh", state="visible")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[THUMBNAILS, expected])
    page.locator(THUMBNAILS).first.click()
    page.wait_for_function("() => (document.querySelector('#history_details')?.innerText || '').includes('Task:')")
    return page.inner_text("#history_details")


def browser_storage(page: Any) -> str:
    return page.evaluate("() => JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})")


def files_containing(folder: Path, needle: str) -> list[str]:
    """Every file under ``folder`` whose bytes contain ``needle`` (as UTF-8 or UTF-16)."""
    patterns = [needle.encode(), needle.encode("utf-16-le")]
    return [str(p) for p in folder.rglob("*") if p.is_file() and any(x in p.read_bytes() for x in patterns)]


# --- 1. a whole session with one's own key ---------------------------------------------------------------------------


def test_a_visitors_key_reaches_the_provider_and_nothing_else(
    hosted: Hosted, new_visitor: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    page = new_visitor()
    before = set(hosted.tasks)
    open_with_key(page, hosted.url, SECRET)
    fill_i2v(page, "paper_boats.png")
    click_generate(page)
    assert wait_final(page) == "succeeded", page.inner_text("#i2v_status")
    made = task_id(page)
    page.wait_for_selector("#i2v_download", state="visible")  # the stream's last step ran

    page.locator("button:visible", has_text="Copy as code").first.click()
    page.wait_for_function("() => (document.querySelector('#i2v_curl')?.innerText || '').includes('STUDIO_API_KEY')")
    code = page.inner_text("#i2v_curl") + "\n" + page.inner_text("#i2v_python")
    assert "STUDIO_API_KEY" in code and "/v1/image_to_video" in code, code  # really the code blocks, filled in

    details = open_history(page, 1)
    assert made in details and "your key" in details, details

    page.get_by_role("tab", name="Image to Video", exact=True).click()  # one error: a moderated prompt
    page.fill("#i2v_prompt textarea", "Boats drift — simulate moderation")
    click_generate(page)
    assert wait_final(page) == "failed", page.inner_text("#i2v_status")
    moderated = task_id(page)
    errors = [page.inner_text("#i2v_status")]
    assert "moderation" in errors[0], errors[0]

    # The same key through the API, in its own session: set it by the key box's event, then send a bad ratio.
    api: list[Any] = []
    client = Client(hosted.url, verbose=False)
    try:
        endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        key_event = next(
            name
            for name, info in endpoints.items()
            if [p["label"] for p in info["parameters"]] == ["Your API key (optional)", "Provider"]
        )
        api.append(client.predict(SECRET, "openai-hk", api_name=key_event))
        assert "your key" in json.dumps(api[-1]), api[-1]
        api += list(submit_paper_boats(client, provider="openai-hk", ratio="1:1"))
    finally:
        client.close()
    refused = json.dumps(api)
    assert "Not sent" in refused and "Ratio" in refused, refused  # the error really came back
    errors.append(refused)

    # It did reach the provider, on every task this visitor made (and the refused API call made none)...
    assert set(hosted.tasks) - before == {made, moderated}
    for made_task in (made, moderated):
        assert hosted.tasks[made_task].authorization == f"Bearer {SECRET}"

    # ...and nowhere else.
    config = httpx.get(hosted.url + "config", timeout=10)
    assert config.status_code == 200
    out, err = capfd.readouterr()
    data_files = [p.name for p in hosted.data_dir.rglob("*") if p.is_file()]
    assert "history.sqlite3" in data_files and "history.sqlite3-wal" in data_files, data_files
    places = {
        "logs": hosted.logs.getvalue(),
        "stdout": out,
        "stderr": err,
        "page HTML": page.content(),
        "/config": config.text,
        "API responses": json.dumps(api),
        "localStorage/sessionStorage": browser_storage(page),
        "copy as code": code,
        "error messages": "\n".join(errors),
        "history (as the visitor sees it)": details,
    }
    assert hosted.logs.getvalue(), "nothing was logged: the log capture is not working"
    leaks = [where for where, text in places.items() if MARK in text]
    assert not leaks, f"the key appears in: {leaks}"
    assert files_containing(hosted.data_dir, MARK) == []


# --- 2. two visitors, two keys, at the same time ----------------------------------------------------------------------


def test_two_visitors_keys_history_and_files_stay_apart(hosted: Hosted, new_visitor: Any) -> None:
    keys = {"ann": "sk-FAKE-ANN-41d0c", "ben": "sk-FAKE-BEN-9e27f"}
    images = {"ann": "paper_boats.png", "ben": "lighthouse_dawn.jpg"}
    pages = {name: new_visitor() for name in keys}
    for name, page in pages.items():
        open_with_key(page, hosted.url, keys[name])
        fill_i2v(page, images[name])
    for page in pages.values():  # both at once, as two people would
        click_generate(page)
    for name, page in pages.items():
        assert wait_final(page) == "succeeded", (name, page.inner_text("#i2v_status"))
    tasks = {name: task_id(page) for name, page in pages.items()}
    assert tasks["ann"] != tasks["ben"]

    for name in pages:  # each task carried its own visitor's key
        assert hosted.tasks[tasks[name]].authorization == f"Bearer {keys[name]}", name

    rows = {name: hosted.history_row(t) for name, t in tasks.items()}
    assert rows["ann"]["visitor"] != rows["ben"]["visitor"]
    for name, page in pages.items():
        other = "ben" if name == "ann" else "ann"
        details = open_history(page, 1)  # exactly one: their own
        assert tasks[name] in details, details
        html = page.content()
        assert tasks[other] not in html, f"{name}'s page shows {other}'s task"
        for column in ("output_path", "poster_path"):
            assert Path(rows[other][column]).stem not in html, f"{name}'s page names {other}'s file"
        assert Path(rows[name]["poster_path"]).stem in html  # (their own poster is what they see)
        for key in keys.values():
            assert key.removeprefix("sk-") not in html and key.removeprefix("sk-") not in browser_storage(page)
    for key in keys.values():
        assert files_containing(hosted.data_dir, key.removeprefix("sk-")) == []


# --- 3. a visitor's URL is fetched by the provider, never by the studio -----------------------------------------------


async def test_the_studio_never_fetches_a_visitors_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.invalid/x.png"
    lookups: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        lookups.append(name)
        if name == "example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    settings = Settings.from_env(
        {"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_SIM_PENDING_S": "0", "STUDIO_SIM_RUNNING_S": "0.2"}
    )
    studio = build_studio(settings)  # the embedded simulator, in-process
    form = Form.of("image_to_video", model="gen4_turbo", ratio="960:960", first=MediaInput(url=url), seed=3)

    prepared = await studio.prepare(form, provider="simulator")
    assert lookups == [], f"preparing the form looked up {lookups}"
    assert [f.uri for f in prepared.request.prompt_image] == [url]  # handed on as given, for the provider to fetch

    job = await studio.start(prepared, visitor="browser:url", key="simulator", key_source="simulator")
    status = await job.wait_done()
    # The one lookup is the simulator's own public-address check (the provider's side); the studio made none.
    assert lookups.count("example.invalid") == 1, lookups
    assert status.phase == "failed" and status.failure_code == "ASSET.INVALID", status
    assert "could not be resolved" in str(status.message) and "Check the image or video" in str(status.message), str(
        status.message
    )
    await studio.aclose()


async def test_the_simulator_refuses_to_fetch_from_a_private_address() -> None:
    with pytest.raises(InputUnavailable, match="not a public address"):  # localhost is 127.0.0.1
        await load_uri("https://localhost/x.png", kind="image", limits=SIMULATOR.limits, allow_private=False)
    with pytest.raises(InputUnavailable) as fetched:  # allowed (tests only): it gets past the check and tries
        await load_uri("https://localhost/x.png", kind="image", limits=SIMULATOR.limits, allow_private=True)
    assert "public address" not in str(fetched.value)
    assert "could not be fetched" in str(fetched.value) or "answered" in str(fetched.value), fetched.value
