"""History in a real browser, on the embedded simulator: what survives a reload, whose generations a visitor sees,
the lineage of a chain of generations, and "Reuse settings".

- A visitor who reloads mid-generation sees the same task carry on (running with its progress, then succeeded)
  and the clip arrive, without a second task being created.
- Two visitors (two browser contexts) each see exactly their own generation in History; an API client with its
  own session sees neither.
- Image to Video -> "Continue this shot" -> Image to Video -> "Send to Video to Video" -> Video to Video:
  History shows the lineage, and the rows are chained by parent_id.
- "Reuse settings" on a Character Performance generation selects its tab and puts back every control and input.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from tests.conftest import ASSETS, LaunchedStudio
from tests.e2e.conftest import VIEWPORT, artifact_name
from tests.e2e.test_browser import (
    choose,
    follow_status,
    open_more,
    open_studio,
    play_result,
    status,
    upload_image,
    upload_video,
    wait_phase,
)

pytestmark = [pytest.mark.browser, pytest.mark.app]

Screenshot = Callable[..., Path]
THUMBNAILS = "#history_grid .rs-tile"


# --- helpers ------------------------------------------------------------------------------------------------------


def task_id_of(page: Any, prefix: str) -> str:
    return page.inner_text(f"#{prefix}_status .rs-task-id").strip()


STARTED = """([sel, oldTask]) => {
    const s = document.querySelector(sel);
    if (!s) return false;
    const task = s.querySelector('.rs-task-id')?.textContent.trim() || '';
    return !['idle', 'succeeded', 'failed', 'cancelled'].includes(s.dataset.phase) || (task !== '' && task !== oldTask);
}"""


def generate(page: Any, prefix: str) -> tuple[list[tuple[str, str]], str]:
    """Press Generate and follow the status to its end: (statuses seen, task id).

    The panel still shows the previous generation's "succeeded" until this one's first update arrives, so wait
    for this generation to show before following it; and wait for the actions enabled after the stream (its
    Download button) before anything clicks them.
    """
    selector = f"#{prefix}_status .rs-status"
    old_task = page.evaluate(
        "(sel) => document.querySelector(sel)?.textContent.trim() || ''", f"{selector} .rs-task-id"
    )
    page.click(f"#{prefix}_generate")
    page.wait_for_function(STARTED, arg=[selector, old_task])
    seen = follow_status(page, prefix, limit_s=40)
    assert seen[-1][0] == "succeeded", f"{prefix} ended {seen[-1]!r}: {page.inner_text(f'#{prefix}_status')}"
    task_id = task_id_of(page, prefix)
    assert task_id and task_id != old_task, (old_task, task_id)
    page.wait_for_selector(f"#{prefix}_download", state="visible")
    return seen, task_id


def open_history(page: Any, expected: int) -> None:
    """Open the History tab and wait until it lists ``expected`` generations (it may briefly show none)."""
    page.get_by_role("tab", name="History", exact=True).click()
    page.wait_for_selector("#history_refresh", state="visible")
    try:
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[THUMBNAILS, expected],
            timeout=10_000,
        )
    except Exception:
        pytest.fail(
            f"History shows {page.locator(THUMBNAILS).count()} thumbnail(s), expected {expected}: "
            f"{page.inner_text('#history_summary')!r}"
        )


def select_newest(page: Any) -> str:
    """Click the first (newest) thumbnail; the details text once it shows."""
    page.locator(THUMBNAILS).first.click()
    page.wait_for_function("() => (document.querySelector('#history_details')?.innerText || '').includes('Task:')")
    return page.inner_text("#history_details")


def generation_by_task(launched: LaunchedStudio, task_id: str) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{launched.studio.history.path}?mode=ro", uri=True, timeout=5.0)
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM generations WHERE task_id = ?", (task_id,)).fetchone()
    finally:
        db.close()
    assert row is not None, f"no generation in history for task {task_id}"
    return dict(row)


def shot(page: Any, request: pytest.FixtureRequest, suffix: str) -> Path:
    path = artifact_name(request.node.name, suffix)
    page.screenshot(path=str(path), full_page=True)
    return path


def start_i2v(page: Any, url: str, image: str = "paper_boats.png") -> None:
    open_studio(page, url, "Image to Video")
    upload_image(page, "i2v_first", ASSETS / image)
    choose(page, "i2v_ratio", "960:960")


# --- 1. a reload mid-generation -----------------------------------------------------------------------------------


def test_a_reload_mid_generation_follows_the_same_task_to_its_clip(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = visitor
    # Long enough a run that the reloaded page (about a second to come back) still finds it running.
    monkeypatch.setattr(launched.engine, "config", replace(launched.engine.config, running_s=5.0))
    start_i2v(page, launched.url)
    created = launched.created
    page.click("#i2v_generate")
    wait_phase(page, "i2v", "running", "succeeded", "failed", "invalid", timeout=20_000)
    assert status(page, "i2v")[0] == "running", page.inner_text("#i2v_status")
    task_id = task_id_of(page, "i2v")

    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")
    seen = follow_status(page, "i2v", every_ms=100, limit_s=30)
    after = [s for s in seen if s[0] not in ("idle", "")]  # the panel starts idle until the page re-attaches
    assert after and after[-1][0] == "succeeded", f"after the reload the status went {seen}"
    running = [int(p) for phase, p in after if phase == "running" and p]
    assert running, f"the reloaded page never showed the task running with its progress: {seen}"
    assert running == sorted(running), f"the progress went backwards after the reload: {seen}"
    assert task_id_of(page, "i2v") == task_id, "the reloaded page follows another task"
    assert launched.created == created + 1, "the reload created a second task"

    # The re-attached page offers what a page that never left offers: the download and the chaining actions.
    page.wait_for_selector("#i2v_download", state="visible")
    for button in ("#i2v_continue", "#i2v_to_v2v", "#i2v_to_character", "#i2v_to_board"):
        assert page.is_enabled(button), f"{button} stays disabled after the re-attached generation succeeded"
    played = play_result(page, "i2v")
    assert played.ready_state >= 2, played
    assert (played.width, played.height) == (960, 960), played
    assert played.duration == pytest.approx(5.0, abs=0.1), played
    screenshot("after-reload-succeeded")
    assert not page.page_errors, page.page_errors


# --- 2. each visitor sees only their own history --------------------------------------------------------------------


def test_each_visitor_sees_only_their_own_history(
    visitor: Any, browser: Any, launched: LaunchedStudio, request: pytest.FixtureRequest
) -> None:
    first = visitor
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    try:
        second = context.new_page()
        start_i2v(first, launched.url, "paper_boats.png")
        start_i2v(second, launched.url, "lighthouse_dawn.jpg")
        first.click("#i2v_generate")  # both at once, as two people would
        second.click("#i2v_generate")
        seen_first, seen_second = follow_status(first, "i2v", limit_s=40), follow_status(second, "i2v", limit_s=40)
        assert seen_first[-1][0] == "succeeded" and seen_second[-1][0] == "succeeded", (seen_first, seen_second)
        tasks = {"first": task_id_of(first, "i2v"), "second": task_id_of(second, "i2v")}
        assert tasks["first"] != tasks["second"]

        for name, page in (("first", first), ("second", second)):
            open_history(page, 1)  # exactly one: their own
            details = select_newest(page)
            other = tasks["second" if name == "first" else "first"]
            assert tasks[name] in details, f"the {name} visitor's History shows {details!r}, not task {tasks[name]}"
            assert other not in page.content(), f"the {name} visitor's page mentions the other visitor's task"
            path = shot(page, request, f"{name}-visitor-history")
            assert path.is_file()
        owners = {generation_by_task(launched, t)["visitor"] for t in tasks.values()}
        assert len(owners) == 2, owners
    finally:
        context.close()

    # A third visitor, through the API with its own session: the history endpoint lists neither generation.
    client = Client(launched.url, verbose=False)
    try:
        endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        name = (
            "/history"
            if "/history" in endpoints
            else next(
                (
                    n
                    for n, info in endpoints.items()
                    if info["returns"] and info["returns"][0]["label"] == "Your generations" and n != "/do_delete"
                ),
                None,
            )
        )
        assert name is not None, f"no History endpoint in the API: {sorted(endpoints)}"
        params = endpoints[name]["parameters"]
        for token in (None, "a-token-nobody-was-given"):
            result = client.predict(
                *[token if p["label"].startswith("parameter_") else p.get("parameter_default") for p in params],
                api_name=name,
            )
            gallery, summary = result[0], result[1] if len(result) > 1 else ""
            assert not gallery, f"an API visitor (token {token!r}) sees generations: {gallery}"
            assert "Nothing yet" in str(summary), summary
            text = repr(result)
            assert tasks["first"] not in text and tasks["second"] not in text
    finally:
        client.close()


# --- 3. a chain of three, and its lineage -----------------------------------------------------------------------------


def test_a_chain_of_three_generations_shows_its_lineage(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    start_i2v(page, launched.url)
    _, first_task = generate(page, "i2v")

    before = page.get_attribute("#i2v_first img", "src")
    page.click("#i2v_continue")  # "Continue this shot"
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#i2v_first img');"
        " return !!img && img.getAttribute('src') !== old }",
        arg=before,
    )
    assert "last" in (page.get_attribute("#i2v_first img", "src") or ""), page.get_attribute("#i2v_first img", "src")
    _, second_task = generate(page, "i2v")

    page.click("#i2v_to_v2v")  # "Send to Video to Video"
    page.wait_for_selector("#v2v_generate", state="visible")
    page.wait_for_selector("#v2v_video_in video", state="attached")
    page.wait_for_function("() => document.querySelector('#v2v_video_note').innerText.includes('5.0 s')")
    page.fill("#v2v_prompt textarea", "Turn the boats into origami cranes at dusk")
    _, third_task = generate(page, "v2v")
    screenshot("v2v-succeeded")

    open_history(page, 3)
    details = select_newest(page)
    assert third_task in details, details
    lineage = next((line for line in details.splitlines() if line.startswith("Lineage:")), None)
    assert lineage is not None, f"no Lineage line in the details: {details!r}"
    assert lineage.count("Image to Video (gen4_turbo)") == 2 and lineage.rstrip().endswith("→ this"), lineage
    screenshot("history-lineage")

    rows = [generation_by_task(launched, t) for t in (first_task, second_task, third_task)]
    assert rows[0]["parent_id"] is None
    assert rows[1]["parent_id"] == rows[0]["id"]
    assert rows[2]["parent_id"] == rows[1]["id"]
    chain = launched.studio.history.lineage(rows[2]["id"], visitor=rows[2]["visitor"])
    assert [g.id for g in chain] == [r["id"] for r in rows]
    assert [g.endpoint for g in chain] == ["image_to_video", "image_to_video", "video_to_video"]
    assert not page.page_errors, page.page_errors


# --- 4. reuse settings ---------------------------------------------------------------------------------------------


CP_CONTROLS = """() => {
    const q = (s) => document.querySelector(s);
    const seed = q('#cp_seed input');
    return {
        ratio: q('#cp_ratio input[role=combobox]')?.value,
        body_control: q('#cp_body_control input[type=checkbox]')?.checked,
        intensity: q('#cp_intensity input[type=number]')?.value,
        intensity_range: q('#cp_intensity input[type=range]')?.value,
        threshold: q('#cp_threshold input[type=radio]:checked')?.value,
        random_seed: q('#cp_random_seed input[type=checkbox]')?.checked,
        seed: seed?.value,
        seed_visible: !!seed && seed.offsetParent !== null,
        character_as: q('#cp_character_type input[type=radio]:checked')?.value,
        character_image: !!q('#cp_character_image img'),
        reference_video: !!q('#cp_reference video'),
        selected_tab: [...document.querySelectorAll('[role=tab]')]
          .find(t => t.getAttribute('aria-selected') === 'true')?.innerText.trim(),
    };
}"""


def test_reuse_settings_puts_back_every_character_performance_control(
    visitor: Any, launched: LaunchedStudio, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, launched.url, "Character Performance")
    upload_image(page, "cp_character_image", ASSETS / "robot_character.png")
    upload_video(page, "cp_reference", ASSETS / "nodding_performance.mp4")
    choose(page, "cp_ratio", "960:960")
    open_more(page, "cp")
    page.locator("#cp_body_control input[type=checkbox]").uncheck()
    intensity = page.locator("#cp_intensity input[type=number]")
    intensity.fill("5")
    intensity.press("Enter")
    page.locator("#cp_threshold").get_by_label("Low (stricter)").check()
    page.locator("#cp_random_seed input[type=checkbox]").uncheck()
    page.wait_for_selector("#cp_seed input", state="visible")
    page.fill("#cp_seed input", "42")
    page.locator("#cp_seed input").press("Tab")
    wanted = {
        "ratio": "960:960",
        "body_control": False,
        "intensity": "5",
        "intensity_range": "5",
        "threshold": "low",
        "random_seed": False,
        "seed": "42",
        "seed_visible": True,
        "character_as": "image",
        "character_image": True,
        "reference_video": True,
        "selected_tab": "Character Performance",
    }
    assert page.evaluate(CP_CONTROLS) == wanted  # what was set is what is sent
    _, task_id = generate(page, "cp")
    row = generation_by_task(launched, task_id)
    assert row["seed"] == 42, row

    # A fresh page: every control back at its default, the form empty, the History still this visitor's.
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")
    open_history(page, 1)
    assert task_id in select_newest(page)
    page.click("#history_reuse")
    page.wait_for_selector("#cp_generate", state="visible")
    open_more(page, "cp")  # the seed and the finer controls are under "More settings", closed on a fresh page
    with contextlib.suppress(Exception):  # on a timeout, the assertion below reports the controls as they are
        page.wait_for_function(
            "() => document.querySelector('#cp_seed input')?.value === '42'"
            " && !!document.querySelector('#cp_reference video')",
            timeout=10_000,
        )
    shown = page.evaluate(CP_CONTROLS)
    screenshot("after-reuse")
    assert shown == wanted, {k: (shown.get(k), v) for k, v in wanted.items() if shown.get(k) != v}
    assert not page.page_errors, page.page_errors
