"""What a visitor (and a designer) notices in a real browser, on the embedded simulator.

Each generation tab uploads the bundled examples, streams a rising percentage and ends with a clip that plays in
the page at the requested length and size; the model switch changes the ratio choices; a bad file is refused
with a message naming the field and nothing is sent; Cancel cancels the task on the simulator; the page says it
runs on the simulator; and the visitor's key never reaches localStorage or the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixtures skip (or fail under CI=true) and say why
    expect = None

from tests.conftest import ASSETS, LaunchedStudio

pytestmark = [pytest.mark.browser, pytest.mark.app]

TABS = ["Image to Video", "Text to Video", "Video to Video", "Character Performance", "Finish"]
GEN4_RATIOS = ["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"]
GEN3A_RATIOS = ["1280:768", "768:1280"]
FINAL_PHASES = ("succeeded", "failed", "cancelled", "invalid")
NO_LAST_FRAME = "does not take a last frame"

Screenshot = Callable[..., Path]


# --- page helpers ---------------------------------------------------------------------------------------------


def open_studio(page: Any, url: str, tab: str | None = None) -> None:
    """A new visitor opens the page (networkidle never fires on a Gradio page) and, optionally, a tab."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")
    if tab is not None:
        page.get_by_role("tab", name=tab, exact=True).click()
        prefix = {
            "Image to Video": "i2v",
            "Text to Video": "t2v",
            "Video to Video": "v2v",
            "Character Performance": "cp",
            "Finish": "fin",
        }[tab]
        page.wait_for_selector(f"#{prefix}_generate", state="visible")


def use_provider(page: Any, label: str) -> None:
    """Pick a provider in Settings, as a visitor does (the accordion is closed on a new page)."""
    if not page.locator("#provider").is_visible():
        page.locator("#settings > button").first.click()
    page.locator("#provider").get_by_label(label, exact=True).check()


def open_more(page: Any, prefix: str) -> None:
    """Open a tab's "More settings" (closed on a new page) so its controls can be used."""
    more = page.locator(f"#{prefix}_more")
    if more.locator(".label-wrap.open").count() == 0:
        more.locator(".label-wrap").first.click()
    more.locator(".label-wrap.open").wait_for()


def upload(page: Any, elem_id: str, path: Path) -> None:
    page.set_input_files(f"#{elem_id} input[type=file]", str(path))


def upload_image(page: Any, elem_id: str, path: Path) -> None:
    upload(page, elem_id, path)
    page.wait_for_selector(f"#{elem_id} img", state="attached")  # the upload finished and the preview is shown


def upload_video(page: Any, elem_id: str, path: Path) -> None:
    upload(page, elem_id, path)
    page.wait_for_selector(f"#{elem_id} video", state="attached")


def listbox_options(page: Any, elem_id: str) -> list[str]:
    """Open the dropdown, read the offered choices (their accessible names) and close it again."""
    box = page.locator(f"#{elem_id} input[role=combobox]")
    box.click()
    options = page.get_by_role("listbox").get_by_role("option")
    options.first.wait_for(state="visible")
    names = [
        name
        for name in options.evaluate_all("els => els.map(e => e.getAttribute('aria-label') || e.textContent.trim())")
    ]
    box.press("Escape")
    page.get_by_role("listbox").wait_for(state="detached")
    return names


def choose(page: Any, elem_id: str, name: str) -> None:
    """Pick a dropdown choice by its shown name, as a visitor does: open the list, click the option."""
    page.locator(f"#{elem_id} input[role=combobox]").click()
    page.get_by_role("listbox").get_by_role("option", name=name, exact=True).click()
    page.get_by_role("listbox").wait_for(state="detached")


def status(page: Any, prefix: str) -> tuple[str, str]:
    return tuple(
        page.evaluate(
            """(sel) => { const s = document.querySelector(sel);
                      return s ? [s.dataset.phase || '', s.dataset.progress || ''] : ['', ''] }""",
            f"#{prefix}_status .rs-status",
        )
    )


def wait_phase(page: Any, prefix: str, *phases: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "([sel, phases]) => { const s = document.querySelector(sel); return !!s && phases.includes(s.dataset.phase) }",
        arg=[f"#{prefix}_status .rs-status", list(phases)],
        timeout=timeout,
    )


def follow_status(page: Any, prefix: str, *, every_ms: int = 120, limit_s: float = 25.0) -> list[tuple[str, str]]:
    """Sample the status panel until the job ends: the (phase, percent) values seen, in order, without repeats."""
    seen: list[tuple[str, str]] = []
    for _ in range(int(limit_s * 1000 / every_ms)):
        current = status(page, prefix)
        if not seen or seen[-1] != current:
            seen.append(current)
        if current[0] in FINAL_PHASES:
            return seen
        page.wait_for_timeout(every_ms)
    pytest.fail(f"{prefix}: the job did not end within {limit_s} s; the status went {seen}")


@dataclass
class Played:
    duration: float
    ready_state: int
    width: int
    height: int
    plays_inline: bool
    paused: bool


def play_result(page: Any, prefix: str) -> Played:
    """Play the result clip muted (autoplay with sound is blocked) and report what the browser made of it."""
    selector = f"#{prefix}_video video"
    page.wait_for_selector(selector, state="attached")
    page.wait_for_function("(sel) => document.querySelector(sel).readyState >= 1", arg=selector)  # metadata
    facts = page.evaluate(
        """async (sel) => {
            const v = document.querySelector(sel);
            v.muted = true;
            await v.play();
            const deadline = Date.now() + 10000;
            while (v.readyState < 2 && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
            return {duration: v.duration, ready_state: v.readyState, width: v.videoWidth, height: v.videoHeight,
                    plays_inline: v.playsInline, paused: v.paused};
        }""",
        selector,
    )
    return Played(**facts)


def assert_rising_then_succeeded(seen: list[tuple[str, str]]) -> None:
    phases = [phase for phase, _ in seen]
    assert phases[-1] == "succeeded", f"the job ended {phases[-1]!r}; the status went {seen}"
    assert "running" in phases and phases.index("running") < len(phases) - 1, seen
    running: list[int] = []
    for phase, percent in seen:
        if phase == "running" and percent and (not running or running[-1] != int(percent)):
            running.append(int(percent))
    assert len(running) >= 2, f"the percentage never rose while running: {seen}"
    assert running == sorted(running) and running[-1] > running[0], f"the percentage went backwards: {running}"


def assert_clip(played: Played, *, seconds: float, ratio: str) -> None:
    width, height = (int(side) for side in ratio.split(":"))
    assert played.duration == pytest.approx(seconds, abs=0.1), played
    assert played.ready_state >= 2, f"the clip did not become playable: {played}"
    assert (played.width, played.height) == (width, height), played
    assert not played.paused, played


def reference_seconds(name: str) -> float:
    with av.open(str(ASSETS / name)) as container:
        return container.duration / 1_000_000


PLAYED: dict[str, Played] = {}  # result clips the tab tests played, by tab prefix, for checks that need one


def generate_and_check(page: Any, prefix: str, *, seconds: float, ratio: str) -> Played:
    page.click(f"#{prefix}_generate")
    seen = follow_status(page, prefix)
    assert_rising_then_succeeded(seen)
    played = play_result(page, prefix)
    assert_clip(played, seconds=seconds, ratio=ratio)
    assert page.is_visible(f"#{prefix}_download"), "no Download MP4 button after success"
    PLAYED[prefix] = played
    return played


# --- 1. each tab, end to end ----------------------------------------------------------------------------------


def test_image_to_video_generates_a_playable_clip(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url, "Image to Video")
    upload_image(page, "i2v_first", ASSETS / "lighthouse_dawn.jpg")
    prompt = "Waves roll in at dawn"
    page.locator("#i2v_prompt textarea").press_sequentially(prompt)  # typed, key by key
    expect(page.locator("#i2v_counter")).to_have_text(f"{len(prompt)} / 1000")
    choose(page, "i2v_ratio", "720:1280")
    generate_and_check(page, "i2v", seconds=5.0, ratio="720:1280")
    screenshot("succeeded")
    assert not page.page_errors, page.page_errors


def test_video_to_video_generates_a_playable_clip(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url, "Video to Video")
    upload_video(page, "v2v_video_in", ASSETS / "city_drive.mp4")
    page.wait_for_function("() => document.querySelector('#v2v_video_note').innerText.includes('6.0 s')")
    assert "Only the first 5 s are used" in page.inner_text("#v2v_video_note")
    upload_image(page, "v2v_reference", ASSETS / "watercolor_reference.jpg")
    page.fill("#v2v_prompt textarea", "Repaint as watercolour")
    choose(page, "v2v_ratio", "960:960")
    generate_and_check(page, "v2v", seconds=5.0, ratio="960:960")  # the 6 s input is trimmed to 5 s
    screenshot("succeeded")
    assert not page.page_errors, page.page_errors


def test_character_performance_generates_a_playable_clip(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url, "Character Performance")
    upload_image(page, "cp_character_image", ASSETS / "robot_character.png")
    upload_video(page, "cp_reference", ASSETS / "nodding_performance.mp4")
    expected = reference_seconds("nodding_performance.mp4")
    page.wait_for_function(
        "(text) => document.querySelector('#cp_reference_note').innerText.includes(text)",
        arg=f"{expected:.1f} s",
    )
    choose(page, "cp_ratio", "832:1104")
    generate_and_check(page, "cp", seconds=expected, ratio="832:1104")
    screenshot("succeeded")
    assert not page.page_errors, page.page_errors


def test_the_result_clip_plays_inline_on_phones(visitor: Any, launched: LaunchedStudio) -> None:
    played = PLAYED.get("i2v")
    if played is None:  # run on its own: make a clip first
        page = visitor
        open_studio(page, launched.url, "Image to Video")
        upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
        choose(page, "i2v_ratio", "960:960")
        played = generate_and_check(page, "i2v", seconds=5.0, ratio="960:960")
    assert played.plays_inline, "the result <video> lacks playsinline: iOS Safari would open it full screen"


def test_the_prompt_counter_follows_a_pasted_prompt_and_an_example(visitor: Any, launched: LaunchedStudio) -> None:
    """Gradio's .input fires for typed keys only: the counter must follow pasted and example prompts too."""
    page = visitor
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=launched.url.rstrip("/"))
    open_studio(page, launched.url, "Image to Video")
    pasted = "Waves roll in under a pink sky"
    page.click("#i2v_prompt textarea")
    page.evaluate("(text) => navigator.clipboard.writeText(text)", pasted)
    page.keyboard.press("Control+V")
    assert page.input_value("#i2v_prompt textarea") == pasted
    counter = page.locator("#i2v_counter")
    try:
        counter.filter(has_text=f"{len(pasted)} / 1000").wait_for(timeout=1500)
    except Exception:
        pytest.fail(f"pasted {len(pasted)} characters, the counter says {counter.inner_text()!r}")
    page.locator("#tab_i2v table tbody tr").first.click()  # the first example
    page.wait_for_function("() => document.querySelector('#i2v_prompt textarea').value.startsWith('The camera')")
    example = page.input_value("#i2v_prompt textarea")
    try:
        counter.filter(has_text=f"{len(example)} / 1000").wait_for(timeout=1500)
    except Exception:
        pytest.fail(f"the example's prompt has {len(example)} characters, the counter says {counter.inner_text()!r}")


# --- 2. the model decides the ratio choices ---------------------------------------------------------------------


def test_switching_the_model_changes_the_ratio_choices(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url, "Image to Video")
    assert listbox_options(page, "i2v_ratio") == GEN4_RATIOS
    assert NO_LAST_FRAME in page.inner_text("#i2v_last_note")
    assert not page.locator("#i2v_last").is_visible()  # no last-frame box for a model that cannot use one

    choose(page, "i2v_model", "gen3a_turbo · Gen-3 Alpha Turbo")
    page.wait_for_function(
        "(warning) => !document.querySelector('#i2v_last_note').innerText.includes(warning)",
        arg=NO_LAST_FRAME,
    )
    page.locator("#i2v_last").wait_for(state="visible")
    assert "older model" in page.inner_text("#i2v_model")  # the proxy still serves it; Runway no longer does
    assert listbox_options(page, "i2v_ratio") == GEN3A_RATIOS
    assert page.input_value("#i2v_ratio input[role=combobox]") in GEN3A_RATIOS  # the old 1280:720 was replaced
    screenshot("gen3a")

    choose(page, "i2v_model", "gen4_turbo · Gen-4 Turbo")
    page.wait_for_function(
        "(warning) => document.querySelector('#i2v_last_note').innerText.includes(warning)",
        arg=NO_LAST_FRAME,
    )
    assert listbox_options(page, "i2v_ratio") == GEN4_RATIOS
    assert page.input_value("#i2v_ratio input[role=combobox]") in GEN4_RATIOS
    page.locator("#i2v_last").wait_for(state="hidden")
    screenshot("gen4")


# --- 3. a bad file ------------------------------------------------------------------------------------------------


def test_a_text_file_named_png_is_refused_before_sending(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot, tmp_path: Path
) -> None:
    page = visitor
    fake = tmp_path / "holiday.png"
    fake.write_text("This is a shopping list, not a picture.\n" * 20)
    open_studio(page, launched.url, "Image to Video")
    before = launched.created
    upload(page, "i2v_first", fake)
    page.wait_for_selector("#i2v_first img", state="attached")
    page.click("#i2v_generate")
    wait_phase(page, "i2v", *FINAL_PHASES)
    assert status(page, "i2v")[0] == "invalid"
    text = page.inner_text("#i2v_status .rs-status")
    assert "First frame" in text, text
    assert "JPEG, PNG or WebP" in text, text
    assert launched.created == before, "a task was created for a file that is not an image"
    assert page.locator("#i2v_video video").count() == 0
    screenshot("invalid")


# --- 4. cancel ------------------------------------------------------------------------------------------------------


def test_cancel_stops_the_task_on_the_simulator(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = visitor
    # A task that runs far longer than any pause of a busy machine: Cancel always lands while it runs (with the
    # fixture's 2.5 s, a loaded machine once let it succeed before the click arrived).
    monkeypatch.setattr(launched.engine, "config", replace(launched.engine.config, running_s=60.0))
    open_studio(page, launched.url, "Image to Video")
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    page.click("#i2v_generate")
    wait_phase(page, "i2v", "queued", "running", *FINAL_PHASES)
    assert status(page, "i2v")[0] in ("queued", "running"), status(page, "i2v")
    task_id = page.inner_text("#i2v_status .rs-task-id").strip()
    assert task_id in launched.engine.tasks, task_id
    page.click("#i2v_cancel")
    wait_phase(page, "i2v", *FINAL_PHASES)
    assert status(page, "i2v")[0] == "cancelled", page.inner_text("#i2v_status")
    engine = launched.engine
    assert engine.snapshot(engine.tasks[task_id])["status"] == "CANCELLED"
    page.wait_for_timeout(300)  # a late update from the stream must not bring a clip back
    assert status(page, "i2v")[0] == "cancelled"
    assert page.locator("#i2v_video video").count() == 0
    screenshot("cancelled")


# --- 5. what the page says about itself --------------------------------------------------------------------------


def test_page_identifies_itself_and_hides_the_key(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url)
    assert page.title() == "Runway Studio"
    names = [name.strip() for name in page.get_by_role("tab").all_inner_texts()]
    assert names[: len(TABS)] == TABS, names  # the generation tabs, in this order
    assert names[len(TABS) :] == ["Storyboard", "History"], names  # then the storyboard and the history
    banner = page.locator("#sim_banner")
    assert banner.is_visible()
    assert re.search(r"costs? nothing", banner.inner_text(), re.IGNORECASE), banner.inner_text()
    page.locator("#settings").get_by_role("button", name="Settings").click()
    key = page.locator("#api_key input")
    key.wait_for(state="visible")
    assert key.get_attribute("type") == "password"
    screenshot("settings")


def test_a_new_visitor_sees_a_ready_status_and_labelled_actions(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    """Before any generation every tab says it is ready, and its (disabled) chaining buttons keep their labels."""
    page = visitor
    open_studio(page, launched.url)
    page.wait_for_timeout(1000)  # let the page-load events (history, reattach) land: they must not blank anything
    screenshot("fresh")
    problems: list[str] = []
    for tab, prefix in zip(TABS, ("i2v", "t2v", "v2v", "cp", "fin"), strict=True):
        page.get_by_role("tab", name=tab, exact=True).click()
        page.wait_for_selector(f"#{prefix}_generate", state="visible")
        panel = page.locator(f"#{prefix}_status")
        if status(page, prefix)[0] != "idle" or "Ready" not in panel.inner_text():
            problems.append(f"{tab}: the status panel shows {panel.inner_text()!r}, not the Ready message")
        for suffix, label in (
            ("continue", "Continue this shot"),
            ("to_v2v", "Send to Video to Video"),
            ("to_character", "Use as character"),
            ("to_finish", "Finish this clip"),
        ):
            text = page.inner_text(f"#{prefix}_{suffix}").strip()
            if text != label:
                problems.append(f"{tab}: the {label!r} button reads {text!r}")
    assert not problems, "\n".join(problems)


# --- 6. the key stays out of the browser's storage ---------------------------------------------------------------


def test_the_key_never_reaches_local_storage_or_the_page(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    secret = "sk-test-SECRET-123"
    open_studio(page, launched.url)
    page.locator("#settings").get_by_role("button", name="Settings").click()
    page.locator("#api_key input").fill(secret)
    page.locator("#api_key input").press("Tab")
    page.wait_for_function("() => /Key in use:\\s*\\S/.test(document.querySelector('#key_in_use').innerText)")
    upload_image(page, "i2v_first", ASSETS / "lighthouse_dawn.jpg")
    page.click("#i2v_generate")
    assert follow_status(page, "i2v")[-1][0] == "succeeded"
    screenshot("after-generation")

    def stored() -> str:
        return page.evaluate("() => JSON.stringify(localStorage)")

    assert "SECRET-123" not in stored()
    assert "SECRET-123" not in page.locator("#i2v_status").inner_html()
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")
    page.locator("#settings").get_by_role("button", name="Settings").click()
    page.locator("#api_key input").wait_for(state="visible")
    assert "SECRET-123" not in page.content()
    assert page.input_value("#api_key input") == ""
    assert "SECRET-123" not in stored()
