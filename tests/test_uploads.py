"""Big inputs on Runway's official API: uploaded as they are (not shrunk into a data URI), with progress; a failed
upload creates nothing; the account's balance and the real cost of each task; and the simulator's official
dialect (its uploads, its balance, and what it refuses as upstream does)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from studio.capabilities import OPENAI_HK, RUNWAY, VideoInputRule
from studio.client import RunwayClient
from studio.errors import MediaError, UploadFailed
from studio.forms import Form, KeyframeInput, MediaInput
from studio.media import prepare_video
from studio.phases import Phase
from studio.settings import Settings
from studio.wiring import build_studio
from tests.conftest import ASSETS
from tests.videos import data_uri, write_video

ALEPH2_RULE = VideoInputRule(min_seconds=2.0, max_seconds=30.0, max_fps=30.0)
VERSION = {"X-Runway-Version": "2024-11-06"}


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s clip of 6.5 MB: over the official API's 5 MB data-URI cap."""
    return write_video(tmp_path_factory.mktemp("clips") / "big.mp4", 2, size=(320, 180), fps=30, noise=True)


# --- preparing: uploaded as it is, or fixed only for what the API cannot take ------------------------------------


def test_a_video_too_big_for_a_data_uri_is_uploaded_as_it_is(big_clip: Path, tmp_path: Path) -> None:
    prepared = prepare_video(big_clip, field="Input video", rule=ALEPH2_RULE, limits=RUNWAY.limits, workdir=tmp_path)
    assert prepared.data_uri is None and prepared.upload == big_clip and not prepared.reencoded
    assert list(tmp_path.iterdir()) == []  # nothing was re-encoded


def test_where_there_are_no_uploads_the_video_is_shrunk_into_a_data_uri(big_clip: Path, tmp_path: Path) -> None:
    small = dataclasses.replace(OPENAI_HK.limits, video_data_uri_bytes=2_000_000)
    prepared = prepare_video(big_clip, field="Input video", rule=VideoInputRule(), limits=small, workdir=tmp_path)
    assert prepared.upload is None and prepared.reencoded and prepared.data_uri is not None
    assert len(prepared.data_uri) <= 2_000_000


def test_a_faster_video_is_converted_to_the_models_rate_and_keeps_its_size(tmp_path: Path) -> None:
    fast = write_video(tmp_path / "fast.mp4", 2, size=(320, 180), fps=60)
    prepared = prepare_video(fast, field="Input video", rule=ALEPH2_RULE, limits=RUNWAY.limits, workdir=tmp_path / "w")
    assert prepared.rate_capped and prepared.reencoded and prepared.info.fps == 30
    assert (prepared.info.width, prepared.info.height) == (320, 180)  # not shrunk: re-encoded for the rate only
    assert abs(prepared.info.duration_s - 2.0) < 0.1


def test_an_upload_over_the_limit_is_refused_before_anything_is_sent(big_clip: Path, tmp_path: Path) -> None:
    tiny = dataclasses.replace(RUNWAY.limits, upload_max_bytes=1_000_000)
    with pytest.raises(MediaError) as info:
        prepare_video(big_clip, field="Input video", rule=ALEPH2_RULE, limits=tiny, workdir=tmp_path)
    assert "at most 977 KiB can be uploaded" in str(info.value) and "Input video" in str(info.value)


# --- the client's upload ----------------------------------------------------------------------------------------


async def test_the_client_uploads_in_two_steps_with_progress(big_clip: Path, tmp_path: Path) -> None:
    studio = build_studio(Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path)}))
    seen: list[float] = []
    try:
        uri = await studio.clients["simulator-runway"].upload(big_clip, key="any", on_progress=seen.append)
        engine = studio.simulator_app.state.engine
        assert uri.startswith("runway://") and engine.uploaded(uri).read_bytes() == big_clip.read_bytes()
        assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 3
    finally:
        await studio.aclose()


async def test_a_refused_upload_is_an_upload_failure() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/uploads":
            assert request.headers["authorization"] == "Bearer k"
            fields = {"uploadUrl": "https://bucket.example.com/up", "fields": {"key": "a"}, "runwayUri": "runway://a"}
            return httpx.Response(200, json=fields)
        assert "authorization" not in request.headers  # the upload itself is signed: no API key goes there
        return httpx.Response(403, text="<Error>expired</Error>")

    client = RunwayClient(provider=RUNWAY, base_url="https://api.example.com", transport=httpx.MockTransport(answer))
    with pytest.raises(UploadFailed) as info:
        await client.upload(Path(__file__), key="k")
    assert str(info.value) == "the upload was refused (HTTP 403)"


# --- a whole generation: uploaded first, then created; its real cost and the balance -------------------------------


def _studio(tmp_path: Path) -> Any:
    return build_studio(
        Settings.from_env(
            {"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_SIM_PENDING_S": "0", "STUDIO_SIM_RUNNING_S": "0.3"}
        )
    )


async def test_aleph2_with_a_big_input_uploads_it_then_creates_the_task(big_clip: Path, tmp_path: Path) -> None:
    studio = _studio(tmp_path)
    keyframe = tmp_path / "red.png"
    keyframe.write_bytes((ASSETS / "paper_boats.png").read_bytes())
    form = Form.of(
        "video_to_video",
        model="aleph2",
        video=MediaInput(path=str(big_clip)),
        keyframes=[
            KeyframeInput(MediaInput(path=str(keyframe)), seconds=0.5),
            KeyframeInput(MediaInput(path=str(keyframe)), at=0.9),
        ],
        prompt_text="a winter evening",
        target_aspect_ratio="1:1",
    )
    engine = studio.simulator_app.state.engine
    try:
        before = (await studio.balance("simulator-runway", None)).credit_balance
        job = await studio.submit(form, provider="simulator-runway", visitor="browser:a", visitor_key=None)
        phases = [s.phase async for s in job.follow()]
        assert phases[0] is Phase.UPLOADING and phases[-1] is Phase.SUCCEEDED, phases
        assert "runway://pending" not in job.code.curl and "upload the file with POST /v1/uploads" in job.code.curl
        assert len(engine.uploads) == 1 and engine.counters.created == 1
        final = job.status
        assert final.provider_estimate is not None and final.credits == 56  # 2 s x 28, the minimum
        with av.open(str(final.video)) as clip:
            stream = clip.streams.video[0]
            assert stream.codec_context.width == stream.codec_context.height  # outpainted to 1:1
        studio._balances.clear()  # the balance is asked at most once a minute: ask again now
        assert (await studio.balance("simulator-runway", None)).credit_balance == before - 56
        row = await studio.generation(final.generation_id, visitor="browser:a")
        assert row is not None and row.actual_credits == 56 and len(row.form["keyframes"]) == 2
        reused = await studio.reuse(final.generation_id, visitor="browser:a")
        assert reused is not None and reused.form.get("keyframes")[1].at == 0.9
    finally:
        await studio.aclose()


async def test_a_failed_upload_creates_nothing_and_says_so(big_clip: Path, tmp_path: Path) -> None:
    studio = _studio(tmp_path)
    engine = studio.simulator_app.state.engine
    announced = engine.start_upload

    def expired(filename: str) -> Any:  # the upload form the studio is given no longer matches: a 403 at the target
        return dataclasses.replace(announced(filename), signature="expired")

    engine.start_upload = expired

    form = Form.of("video_to_video", model="aleph2", video=MediaInput(path=str(big_clip)))
    try:
        job = await studio.submit(form, provider="simulator-runway", visitor="browser:a", visitor_key=None)
        final = await job.wait_done()
        assert final.phase is Phase.FAILED and "Nothing was created or charged" in str(final.message)
        assert "the upload was refused (HTTP 403)" in str(final.message)
        assert engine.counters.created == 0
        row = await studio.generation(final.generation_id, visitor="browser:a")
        assert row is not None and row.task_id is None and row.failure_code is None  # costs nothing
    finally:
        await studio.aclose()


# --- the simulator's official dialect ----------------------------------------------------------------------------


async def test_the_official_dialect_refuses_what_upstream_refuses(tmp_path: Path) -> None:
    studio = _studio(tmp_path)
    app = studio.simulator_app
    short = data_uri(write_video(tmp_path / "short.mp4", 2))
    fast = data_uri(write_video(tmp_path / "fast.mp4", 3, fps=60))
    image = (
        "data:image/png;base64," + __import__("base64").b64encode((ASSETS / "paper_boats.png").read_bytes()).decode()
    )
    auth = {"Authorization": "Bearer any"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        unversioned = await http.post("/v1/text_to_video", json={"model": "gen4.5"}, headers=auth)
        assert unversioned.status_code == 400 and "X-Runway-Version" in unversioned.json()["error"]
        act_two = {
            "model": "act_two",
            "character": {"type": "image", "uri": image},
            "reference": {"type": "video", "uri": short},
        }
        refused = await http.post("/v1/character_performance", json=act_two, headers=auth | VERSION)
        assert refused.status_code == 400
        assert refused.json()["issues"][0]["message"].startswith("Reference performance video: the video is 2.0 s")
        too_fast = await http.post(
            "/v1/video_to_video", json={"model": "aleph2", "videoUri": fast}, headers=auth | VERSION
        )
        assert too_fast.status_code == 400 and "60 frames per second" in too_fast.json()["issues"][0]["message"]
        proxy = await http.post("/runwayml/v1/video_to_video", json={"model": "aleph2", "videoUri": fast}, headers=auth)
        assert proxy.status_code == 400 and "not available" in proxy.json()["issues"][0]["message"]
    assert app.state.engine.counters.created == 0
    await studio.aclose()
