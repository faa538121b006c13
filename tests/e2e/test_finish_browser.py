"""The Finish tab in a real browser, on the official provider answered by a standalone simulator on loopback.

A Text to Video clip goes to Finish with "Finish this clip"; each pass shows only its own settings; a frame-rate
pass and an Add sound pass run on it (each sent exactly as the API wants it) and Add sound's result plays with
sound. On the proxy's simulator the tab says it is not offered there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LaunchedStudio
from tests.e2e.test_browser import choose, open_studio, play_result
from tests.e2e.test_history_browser import open_history, select_newest
from tests.e2e.test_official_browser import Official, audio_decoded, generate, official  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.app]

Screenshot = Callable[..., Path]
PASS_BOXES = ("#fin_upscale", "#fin_frame_rate", "#fin_sound")


def open_finish(page: Any) -> None:
    page.get_by_role("tab", name="Finish", exact=True).click()
    page.wait_for_selector("#fin_generate", state="visible")


def shown_boxes(page: Any) -> list[str]:
    return [box for box in PASS_BOXES if page.locator(box).first.is_visible()]  # a Group renders its id twice


def test_a_clip_is_finished_pass_by_pass(visitor: Any, official: Official, screenshot: Screenshot) -> None:  # noqa: F811
    page = visitor
    open_studio(page, official.url, "Text to Video")
    choose(page, "t2v_model", "gen4.5 · Gen-4.5")
    choose(page, "t2v_duration", "2")
    page.fill("#t2v_prompt textarea", "a paper lantern over a river")
    generate(page, "t2v")
    page.locator("#t2v_to_finish").wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('#t2v_to_finish').disabled")
    page.click("#t2v_to_finish")  # "Finish this clip"
    page.wait_for_selector("#fin_video_in video", state="attached")

    assert (
        page.input_value("#fin_model input[role=combobox]") == "magnific_video_upscaler_creative · Upscale (Magnific)"
    )
    assert shown_boxes(page) == ["#fin_upscale"]
    page.wait_for_function("() => document.querySelector('#fin_cost').innerText.includes('credits')")
    choose(page, "fin_model", "enhance_frame_rate · Frame rate")
    page.wait_for_function(
        "() => !document.querySelector('#fin_upscale') || !document.querySelector('#fin_upscale').checkVisibility()"
    )
    assert shown_boxes(page) == ["#fin_frame_rate"]
    choose(page, "fin_target_framerate", "29.97")
    screenshot("frame-rate")
    generate(page, "fin")
    body = official.last_created("video_upscale")
    assert body["model"] == "enhance_frame_rate" and body["targetFramerate"] == "29_97"
    assert "seed" not in body and "resolution" not in body  # nothing the pass does not take

    choose(page, "fin_model", "mirelo_sfx_2_0 · Add sound")
    page.locator("#fin_sound").first.wait_for(state="visible")
    assert shown_boxes(page) == ["#fin_sound"]
    page.fill("#fin_prompt textarea", "river water and distant crickets")
    generate(page, "fin")
    body = official.last_created("video_to_audio")
    assert body["model"] == "mirelo_sfx_2_0" and body["duration"] == pytest.approx(2.0, abs=0.05)
    assert body["promptText"] == "river water and distant crickets"
    played = play_result(page, "fin")
    assert played.duration == pytest.approx(2.0, abs=0.1)
    assert audio_decoded(page, "#fin_video video") > 0, "the finished clip plays without sound"
    screenshot("with-sound")

    # History: the sound's pass continues the clip it finished, and its audio file can be downloaded too.
    open_history(page, 3)
    details = select_newest(page)
    assert "mirelo_sfx_2_0" in details and "Text to Video" in details, details
    page.locator("#history_audio_download").wait_for(state="visible")
    with page.expect_download() as download:
        page.click("#history_audio_download")
    assert download.value.suggested_filename.endswith(".mp3"), download.value.suggested_filename
    screenshot("history")


def test_the_proxy_does_not_offer_finish(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    open_studio(page, launched.url)
    open_finish(page)
    note = page.inner_text("#tab_fin .rs-warning")
    assert "does not offer Finish" in note and "Runway" in note, note
    assert page.locator("#fin_generate").is_disabled()
