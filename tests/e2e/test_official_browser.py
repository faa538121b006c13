"""Runway's current models in a real browser, on the official provider (``STUDIO_PROVIDER=runway`` with a key)
whose base URL is a standalone simulator on loopback: it answers under the official API's rules.

- veo3.1 with a first and a last frame: a clip of the chosen length and size, with sound, in the result and in
  History.
- aleph2 with two keyframes on a 20 s input too big for a data URI: the input goes up through an ephemeral upload,
  the status says so, and the task receives the upload's runway:// URI and both keyframes at their times.
- Text to Video with gen4.5.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS, serve
from tests.e2e.test_browser import (
    assert_clip,
    choose,
    follow_status,
    open_studio,
    play_result,
    upload_image,
    upload_video,
)
from tests.e2e.test_history_browser import open_history, select_newest
from tests.fakes import ServerThread
from tests.videos import write_video

pytestmark = [pytest.mark.browser, pytest.mark.app]

FAKE_KEY = "key_FAKE_official_0000"
Screenshot = Callable[..., Path]


class Recorder:
    """An ASGI wrapper keeping the JSON body of every create call the simulator receives."""

    def __init__(self, app: Any) -> None:
        self.app, self.created = app, []  # type: list[tuple[str, dict[str, Any]]]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith("/v1/") or path == "/v1/uploads":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        self.created.append((path, json.loads(body)))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class Official:
    def __init__(self, url: str, recorder: Recorder, engine: Any) -> None:
        self.url, self.recorder, self.engine = url, recorder, engine

    def last_created(self, endpoint: str) -> dict[str, Any]:
        return next(body for path, body in reversed(self.recorder.created) if path == f"/v1/{endpoint}")


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Official]:
    from studio.simulator.app import create_app
    from studio.simulator.config import SimulatorConfig

    tmp = tmp_path_factory.mktemp("official")
    simulator = create_app(SimulatorConfig(pending_s=0.5, running_s=2.5, output_dir=tmp / "sim"))
    recorder = Recorder(simulator)
    with ServerThread(recorder) as sim_url:
        env = {
            "STUDIO_PROVIDER": "runway",
            "STUDIO_API_KEY": FAKE_KEY,
            "STUDIO_BASE_URL": sim_url,
            "STUDIO_DATA_DIR": str(tmp / "data"),
        }
        with serve(env) as launched:
            yield Official(launched.url, recorder, simulator.state.engine)


def audio_decoded(page: Any, selector: str) -> int:
    """Bytes of sound Chromium decoded while playing ``selector`` (0 for a clip with no audio track)."""
    return int(
        page.evaluate(
            """async (sel) => {
                const v = document.querySelector(sel);
                v.muted = true;
                v.currentTime = 0;
                await v.play();
                const deadline = Date.now() + 5000;
                while (v.webkitAudioDecodedByteCount === 0 && Date.now() < deadline)
                    await new Promise(r => setTimeout(r, 50));
                v.pause();
                return v.webkitAudioDecodedByteCount;
            }""",
            selector,
        )
    )


def generate(page: Any, prefix: str, *, limit_s: float = 30) -> list[str]:
    """Press Generate and wait for the job to end well; every phase the status panel showed (some last only
    milliseconds, so they are kept in ``window.phases`` as they come). The official provider is polled every 5 s,
    as Runway asks, so a short simulated task may go from queued to done between two polls."""
    page.evaluate(
        """(sel) => {
            window.phases = [];
            const note = () => {
                const s = document.querySelector(sel + ' .rs-status');
                const phase = s ? s.dataset.phase : '';
                if (phase && window.phases[window.phases.length - 1] !== phase) window.phases.push(phase);
            };
            new MutationObserver(note).observe(document.querySelector(sel), {subtree: true, childList: true,
                                                                              attributes: true});
        }""",
        f"#{prefix}_status",
    )
    page.click(f"#{prefix}_generate")
    seen = follow_status(page, prefix, limit_s=limit_s)
    phases: list[str] = page.evaluate("window.phases")
    assert seen[-1][0] == "succeeded", f"the job ended {seen[-1]}: {page.inner_text(f'#{prefix}_status')!r}; {phases}"
    return phases


def test_veo_with_a_first_and_a_last_frame_plays_with_sound(
    visitor: Any, official: Official, screenshot: Screenshot
) -> None:
    page = visitor
    open_studio(page, official.url, "Image to Video")
    choose(page, "i2v_model", "veo3.1 · Veo 3.1")
    page.locator("#i2v_last").wait_for(state="visible")  # Veo takes a last frame: its box appears
    choose(page, "i2v_ratio", "1280:720")
    choose(page, "i2v_duration", "4")
    upload_image(page, "i2v_first", ASSETS / "lighthouse_dawn.jpg")
    upload_image(page, "i2v_last", ASSETS / "lighthouse_dusk.jpg")
    page.fill("#i2v_prompt textarea", "the light turns from dawn to dusk")
    page.fill("#i2v_negative_prompt textarea", "text, watermark")
    assert page.is_checked("#i2v_audio input")  # Veo makes sound unless told not to
    page.wait_for_function("() => document.querySelector('#i2v_cost').innerText.includes('160')")  # 4 s x 40
    screenshot("form")

    generate(page, "i2v")
    assert_clip(play_result(page, "i2v"), seconds=4, ratio="1280:720")
    assert audio_decoded(page, "#i2v_video video") > 0, "the result plays without sound"
    assert "160 credits charged" in page.inner_text("#i2v_status")
    screenshot("result")

    body = official.last_created("image_to_video")
    assert body["model"] == "veo3.1" and [p["position"] for p in body["promptImage"]] == ["first", "last"]
    assert body["audio"] is True and body["negativePrompt"] == "text, watermark" and body["duration"] == 4

    open_history(page, 1)
    details = select_newest(page)
    assert "veo3.1" in details and "160 credits charged" in details
    assert "Audio: on" in details and "Negative prompt: text, watermark" in details
    page.wait_for_selector("#history_video video", state="attached")
    assert audio_decoded(page, "#history_video video") > 0, "History plays the clip without sound"
    screenshot("history")


def test_aleph2_with_two_keyframes_uploads_a_big_input(
    visitor: Any, official: Official, screenshot: Screenshot, tmp_path: Path
) -> None:
    clip = write_video(tmp_path / "walk.mp4", 20, size=(160, 120), fps=24, noise=True)
    assert clip.stat().st_size > 5 * 1024 * 1024  # over the official API's data-URI cap
    page = visitor
    open_studio(page, official.url, "Video to Video")
    assert page.input_value("#v2v_model input[role=combobox]") == "aleph2 · Aleph 2"
    assert not page.locator("#v2v_reference").is_visible()  # aleph2 takes no reference image
    upload_video(page, "v2v_video_in", clip)
    page.wait_for_function("() => document.querySelector('#v2v_video_note').innerText.includes('20')")
    upload_image(page, "v2v_keyframe_0", ASSETS / "watercolor_reference.jpg")
    page.fill("#v2v_keyframe_0_when input", "2")
    page.click("#v2v_add_keyframe")
    page.locator("#v2v_keyframe_1").wait_for(state="visible")
    upload_image(page, "v2v_keyframe_1", ASSETS / "lighthouse_dusk.jpg")
    page.fill("#v2v_keyframe_1_when input", "0.75")
    page.locator("#v2v_keyframe_1_unit").get_by_label("fraction", exact=False).check()
    choose(page, "v2v_outpaint", "9:16")
    page.fill("#v2v_prompt textarea", "repaint it in watercolour")
    screenshot("form")

    uploads_before = len(official.engine.uploads)
    phases = generate(page, "v2v", limit_s=60)
    assert phases.index("uploading") < phases.index("queued"), f"no upload before the task was created: {phases}"
    played = play_result(page, "v2v")
    assert played.duration == pytest.approx(20, abs=0.2), played
    assert played.height > played.width, f"9:16 outpainting should make a tall clip: {played}"
    screenshot("result")

    assert len(official.engine.uploads) == uploads_before + 1
    body = official.last_created("video_to_video")
    assert body["model"] == "aleph2" and body["videoUri"].startswith("runway://")
    assert body["targetAspectRatio"] == "9:16" and "references" not in body
    assert [{k: v for k, v in f.items() if k != "uri"} for f in body["keyframes"]] == [{"seconds": 2}, {"at": 0.75}]


def test_text_to_video_with_gen4_5(visitor: Any, official: Official, screenshot: Screenshot) -> None:
    page = visitor
    open_studio(page, official.url, "Text to Video")
    choose(page, "t2v_model", "gen4.5 · Gen-4.5")
    choose(page, "t2v_ratio", "720:1280")
    choose(page, "t2v_duration", "3")
    page.fill("#t2v_prompt textarea", "a paper lantern drifts up a quiet river at dusk")
    generate(page, "t2v")
    assert_clip(play_result(page, "t2v"), seconds=3, ratio="720:1280")
    screenshot("result")
    body = official.last_created("text_to_video")
    assert (body["model"], body["ratio"], body["duration"]) == ("gen4.5", "720:1280", 3)
    assert body["promptText"] == "a paper lantern drifts up a quiet river at dusk"
