"""The Storyboard in a real browser, on the simulator of Runway's API: a chain of three (generate, Continue,
Continue) opened as a storyboard, reordered, one shot trimmed, a crossfade set, exported; the export decodes, lasts
the trimmed shots minus the crossfade, has one continuous audio track (one shot had sound), plays inline, and the
storyboard is still there after a reload."""

from __future__ import annotations

import sqlite3
from typing import Any

import av
import pytest

from tests.conftest import ASSETS, LaunchedStudio
from tests.e2e.test_browser import choose, open_studio, upload_image, use_provider
from tests.e2e.test_history_browser import generate

pytestmark = [pytest.mark.browser, pytest.mark.app]

SHOT = "#board_shots .rs-shot"


def continue_shot(page: Any) -> None:
    """ "Continue this shot": the last frame comes back as the first frame (its file name says so)."""
    before = page.get_attribute("#i2v_first img", "src")
    page.click("#i2v_continue")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#i2v_first img');"
        " return !!img && img.getAttribute('src') !== old && img.getAttribute('src').includes('last') }",
        arg=before,
    )


def shown_shots(page: Any) -> list[str]:
    """The shots' cards as shown, in order ("Shot 1 · veo3.1_fast ...")."""
    return [
        text.strip()
        for text in page.locator(f"{SHOT} .rs-shot-head").evaluate_all(
            "els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)"
        )
    ]


def export_row(launched: LaunchedStudio) -> Any:
    with sqlite3.connect(launched.studio.history.path) as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT * FROM generations WHERE endpoint = 'storyboard' ORDER BY created_at DESC LIMIT 1"
        ).fetchone()


def test_a_chain_of_three_becomes_one_exported_video(visitor: Any, launched: LaunchedStudio, screenshot: Any) -> None:
    page = visitor
    open_studio(page, launched.url)
    page.get_by_role("tab", name="Storyboard", exact=True).click()  # a new visitor: nothing to delete or export
    page.wait_for_selector("#board_empty", state="visible")
    assert page.locator("#board_export").is_disabled() and page.locator("#board_delete").is_disabled()
    use_provider(page, "Simulator · Runway")
    page.get_by_role("tab", name="Image to Video", exact=True).click()
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    page.fill("#i2v_prompt textarea", "Paper boats drift across a pond")
    choose(page, "i2v_model", "veo3.1_fast · Veo 3.1 Fast")  # with sound (on by default): 4 s
    choose(page, "i2v_duration", "4")
    generate(page, "i2v")

    continue_shot(page)  # the same model, ratio and prompt come with it
    assert page.input_value("#i2v_prompt textarea") == "Paper boats drift across a pond"
    assert "veo3.1_fast" in page.input_value("#i2v_model input[role=combobox]")
    choose(page, "i2v_model", "gen4_turbo · Gen-4 Turbo")  # silent, 2 s
    choose(page, "i2v_duration", "2")
    generate(page, "i2v")
    continue_shot(page)
    generate(page, "i2v")

    page.click("#i2v_to_board")  # "Open as storyboard": the chain, in order
    page.wait_for_selector("#board_export", state="visible")
    page.wait_for_function("(sel) => document.querySelectorAll(sel).length >= 3", arg=f"{SHOT}:not(.hidden)")
    shots = shown_shots(page)
    assert len(shots) == 3 and "veo3.1_fast" in shots[0] and "gen4_turbo" in shots[2], shots

    page.wait_for_selector("#board_export:not([disabled])")  # shots to export
    page.click("#board_down_0")  # the sound shot moves to second
    page.wait_for_function(
        "() => document.querySelector('#board_card_1').innerText.includes('veo3.1_fast')", timeout=10_000
    )
    page.fill("#board_out_1 input", "3")  # trim the sound shot to its first 3 s
    page.locator("#board_out_1 input").press("Tab")
    page.locator("#board_tr_0").get_by_label("Crossfade", exact=True).check()  # shot 1 fades into shot 2
    page.wait_for_selector("#board_frames_0", state="visible")
    page.wait_for_function("() => document.querySelector('#board_summary').innerText.includes('7.0 s')")
    screenshot("storyboard-edited")

    page.click("#board_export")
    page.wait_for_function(
        "() => document.querySelector('#board_status .rs-status')?.dataset.phase === 'succeeded'", timeout=60_000
    )
    played = page.evaluate(
        """async () => {
            const v = document.querySelector('#board_video video');
            v.muted = true; await v.play();
            const deadline = Date.now() + 10000;
            while (v.readyState < 2 && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
            return {duration: v.duration, ready: v.readyState, inline: v.playsInline, paused: v.paused};
        }"""
    )
    screenshot("storyboard-exported")
    row = export_row(launched)
    with av.open(str(row["output_path"])) as made:
        video, audio = made.streams.video[0], made.streams.audio
        rate = float(video.average_rate)
        frames = sum(1 for _ in made.decode(video=0))
    expected = 2 + 3 + 2 - 12 / rate  # the trimmed shots, less the crossfade's overlap
    assert abs(frames / rate - expected) <= 1 / rate + 1e-6, (frames, rate, expected)
    assert len(audio) == 1, "one continuous track: the sound shot's, and silence for the others"
    with av.open(str(row["output_path"])) as made:
        sound = made.streams.audio[0]
        samples = sum(f.samples for f in made.decode(audio=0))
    assert abs(samples / sound.rate - expected) <= 1 / rate + 0.05, (samples / sound.rate, expected)
    assert played["ready"] >= 2 and played["inline"] and not played["paused"], played
    assert played["duration"] == pytest.approx(expected, abs=0.1), played

    page.reload(wait_until="domcontentloaded")  # the storyboard is the visitor's own, kept
    page.wait_for_selector("#i2v_generate", state="visible")
    page.get_by_role("tab", name="Storyboard", exact=True).click()
    page.wait_for_function("() => document.querySelector('#board_card_1')?.innerText.includes('veo3.1_fast')")
    assert page.input_value("#board_out_1 input") == "3"
    assert page.locator("#board_tr_0").get_by_label("Crossfade", exact=True).is_checked()
    assert not page.page_errors, page.page_errors
