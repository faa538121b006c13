"""The finishing passes (upscale, frame rate, add sound) on the official API's table.

Through the OFFICIAL ``runwayml`` SDK against the standalone simulator on a loopback port, each pass succeeds and
its output really is what was asked (probed with PyAV); through the studio's service, each lands in History with
its cost and its parent, and Add sound's result is the clip with the new sound muxed in, its audio file kept.
Bad input is refused before anything is sent (the simulator's task counter stays put); the proxy's dialect has no
such endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from studio.capabilities import RUNWAY, SIMULATOR_RUNWAY, framerate_fps, upscaled_size
from studio.errors import InvalidInput
from studio.forms import Form, MediaInput
from studio.pricing import estimate
from studio.requests import parse_request
from studio.simulator.config import SimulatorConfig
from tests.conftest import Bucket
from tests.rigs import SimulatedStudio, paper_boats
from tests.test_sdk_compat import BadRequestError, Recorder, fast_polling, sdk, simulator_url  # skips without the SDK
from tests.videos import data_uri, write_video

SHARED_FIXTURES = (simulator_url, fast_polling)  # the standalone simulator and the SDK's short polls, as there

UPSCALER, FRAME_RATE, SOUND = "magnific_video_upscaler_creative", "enhance_frame_rate", "mirelo_sfx_2_0"


def probe(path: Path) -> dict[str, Any]:
    """What a file holds: its picture's size, rate and frame count; its sound's codec and length."""
    found: dict[str, Any] = {}
    with av.open(str(path)) as container:
        if container.streams.video:
            stream = container.streams.video[0]
            found |= {"size": (stream.width, stream.height), "rate": stream.average_rate}
            found["frames"] = sum(1 for _ in container.decode(stream))
    with av.open(str(path)) as container:
        if container.streams.audio:
            sound = container.streams.audio[0]
            decoded = sum(frame.samples for frame in container.decode(sound))
            found |= {"audio": sound.codec_context.name, "audio_seconds": decoded / sound.sample_rate}
    return found


def download(url: str, dest: Path) -> Path:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    dest.write_bytes(response.content)
    return dest


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 24 fps, 160x120: small enough to upscale in a blink."""
    return write_video(tmp_path_factory.mktemp("clips") / "small.mp4", 2.0, size=(160, 120))


# --- the table ---------------------------------------------------------------------------------------------------


def test_the_finishing_passes_are_official_only() -> None:
    assert {m.name for m in RUNWAY.models_for("video_upscale")} == {UPSCALER, FRAME_RATE}
    assert [m.name for m in RUNWAY.models_for("video_to_audio")] == [SOUND]
    upscaler = RUNWAY.model(UPSCALER, "video_upscale")
    assert upscaler is not None and upscaler.video_inputs["videoUri"].max_seconds == 30.0
    assert upscaler.option_rules["resolution"].default == "2k" and upscaler.price_is_estimate
    assert not upscaler.seed
    # $0.007 a frame at 720p: 2 s at 24 fps is 48 frames, 96 with fpsBoost; 1 credit = $0.01.
    assert estimate(upscaler, seconds=2, fps=24, options={"resolution": "720p"}).credits == 34  # 33.6 up
    assert estimate(upscaler, seconds=2, fps=24, options={"resolution": "4k", "fpsBoost": True}).credits == 116
    assert framerate_fps("23_98") == Fraction(24000, 1001) and framerate_fps("120") == 120
    assert upscaled_size((160, 120), "720p") == (960, 720) and upscaled_size((720, 1280), "1k") == (1080, 1920)


def test_each_model_takes_only_its_own_fields() -> None:
    body = {"model": FRAME_RATE, "videoUri": "https://cdn.example.com/in.mp4", "targetFramerate": "33"}
    with pytest.raises(InvalidInput) as info:
        parse_request("video_upscale", body | {"resolution": "1k", "seed": 4}, provider=RUNWAY)
    messages = [str(i.message) for i in info.value.issues]
    assert "enhance_frame_rate takes no Resolution setting." in messages
    assert "enhance_frame_rate takes no Seed setting." in messages
    assert any(m.startswith("Target frame rate: '33' is not allowed. Choose one of 24, 25") for m in messages)
    with pytest.raises(InvalidInput) as info:
        parse_request(
            "video_upscale", {"model": UPSCALER, "videoUri": body["videoUri"], "sharpen": 101}, provider=RUNWAY
        )
    assert [str(i.message) for i in info.value.issues] == ["Sharpen 101 is out of range. Choose 0 to 100."]


# --- the official SDK against the standalone simulator --------------------------------------------------------------


def test_sdk_upscale_makes_the_resolution_and_doubles_the_rate(
    simulator_url: str, fast_polling: None, small_clip: Path, tmp_path: Path
) -> None:
    recorder = Recorder()
    client = sdk(simulator_url, recorder)
    task = client.video_upscale.create(
        model=UPSCALER, video_uri=data_uri(small_clip), resolution="720p", fps_boost=True, flavor="natural"
    )
    result = task.wait_for_task_output(timeout=120)
    assert result.status == "SUCCEEDED"
    assert recorder.bodies()[0] | {"videoUri": ""} == {
        "model": UPSCALER,
        "videoUri": "",
        "resolution": "720p",
        "fpsBoost": True,
        "flavor": "natural",
    }
    assert result.cost.credits == 68  # 96 output frames x 0.7 credits
    out = probe(download(result.output[0], tmp_path / "up.mp4"))
    assert out["size"] == (960, 720) and out["rate"] == 48 and out["frames"] == 96


def test_sdk_frame_rate_retimes_the_clip(
    simulator_url: str, fast_polling: None, small_clip: Path, tmp_path: Path
) -> None:
    client = sdk(simulator_url, Recorder())
    task = client.video_upscale.create(model=FRAME_RATE, video_uri=data_uri(small_clip), target_framerate="29_97")
    result = task.wait_for_task_output(timeout=120)
    out = probe(download(result.output[0], tmp_path / "fr.mp4"))
    assert out["rate"] == Fraction(30000, 1001) and out["size"] == (160, 120)
    assert out["frames"] == 60  # 2 s at 29.97 fps


@pytest.mark.parametrize("audio_format", ["wav", "flac", "mp3"])
def test_sdk_video_to_audio_returns_sound_of_the_length_asked(
    simulator_url: str, fast_polling: None, small_clip: Path, tmp_path: Path, audio_format: str
) -> None:
    client = sdk(simulator_url, Recorder())
    task = client.video_to_audio.create(
        model=SOUND,
        video_uri=data_uri(small_clip),
        duration=2.0,
        prompt_text="rain on a tin roof",
        format=audio_format,
        seed=5,
    )
    result = task.wait_for_task_output(timeout=120)
    assert result.output[0].split("?")[0].endswith(f".{audio_format}")
    out = probe(download(result.output[0], tmp_path / f"sound.{audio_format}"))
    assert "size" not in out and out["audio_seconds"] == pytest.approx(2.0, abs=0.06)
    assert result.cost.credits == 2  # 2 s x 1 credit (a guessed price)


def test_sdk_bad_finishing_bodies_get_400s_naming_the_field(
    simulator_url: str, small_clip: Path, tmp_path: Path
) -> None:
    client = sdk(simulator_url, Recorder())
    long_clip = write_video(tmp_path / "long.mp4", 31.0, size=(64, 64), fps=4)
    with pytest.raises(BadRequestError) as info:
        client.video_upscale.create(model=UPSCALER, video_uri=data_uri(long_clip), resolution="720p")
    assert any("Input video" in i["message"] and "at most 30" in i["message"] for i in info.value.body["issues"])
    with pytest.raises(BadRequestError) as info:
        client.video_upscale.create(model=FRAME_RATE, video_uri=data_uri(small_clip), target_framerate="33")  # type: ignore[arg-type]
    assert "Target frame rate: '33' is not allowed" in json.dumps(info.value.body)
    with pytest.raises(BadRequestError) as info:
        client.video_upscale.create(
            model=FRAME_RATE, video_uri=data_uri(small_clip), target_framerate="24", extra_body={"resolution": "4k"}
        )
    assert "enhance_frame_rate takes no Resolution setting." in json.dumps(info.value.body)


def test_the_proxy_dialect_has_no_finishing_endpoints(simulator_url: str, small_clip: Path) -> None:
    headers = {"Authorization": "Bearer sk-test"}
    for path, body in (
        ("video_upscale", {"model": UPSCALER, "videoUri": data_uri(small_clip)}),
        ("video_to_audio", {"model": SOUND, "videoUri": data_uri(small_clip), "duration": 2.0}),
    ):
        assert httpx.post(f"{simulator_url}/runwayml/v1/{path}", json=body, headers=headers).status_code == 404
        official = httpx.post(f"{simulator_url}/v1/{path}", json=body | {"model": "nope"}, headers=headers)
        assert official.status_code == 400  # the official dialect serves the path (it needs X-Runway-Version)


# --- through the studio's service -----------------------------------------------------------------------------------


class Rig(SimulatedStudio):
    def __init__(self, tmp: Path, *, store: Any = None) -> None:
        config = SimulatorConfig(pending_s=0.2, running_s=1.0, output_dir=tmp / "sim")
        super().__init__(tmp / "data", SIMULATOR_RUNWAY, config, store=store)

    async def generate(self, form: Form, *, parent: str | None = None) -> Any:
        job = await self.studio.submit(
            form, provider=self.provider, visitor="browser:alice", visitor_key=None, parent_id=parent
        )
        return await job.wait_done()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield Rig(tmp_path)


async def parent_clip(rig: Rig) -> Any:
    """A 2 s gen4_turbo clip at 960:960 to finish."""
    status = await rig.generate(paper_boats(duration=2))
    assert status.phase == "succeeded", status.message
    return status


async def test_service_upscale_lands_in_history_with_cost_and_parent(rig: Rig) -> None:
    parent = await parent_clip(rig)
    form = Form.of("video_upscale", model=UPSCALER, video=MediaInput(path=str(parent.video)), resolution="720p")
    status = await rig.generate(form, parent=parent.generation_id)
    assert status.phase == "succeeded", status.message
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and row.parent_id == parent.generation_id and row.endpoint == "video_upscale"
    assert row.seed is None  # the upscaler takes no seed: none is sent
    assert row.estimated_credits == row.actual_credits == 34  # 48 frames x 0.7 credits
    assert status.estimate.third_party
    assert probe(Path(row.output_path or ""))["size"] == (720, 720)


async def test_service_frame_rate(rig: Rig) -> None:
    parent = await parent_clip(rig)
    form = Form.of("video_upscale", model=FRAME_RATE, video=MediaInput(path=str(parent.video)), target_framerate="60")
    status = await rig.generate(form, parent=parent.generation_id)
    assert status.phase == "succeeded", status.message
    out = probe(status.video)
    assert out["rate"] == 60 and out["frames"] == 120
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and row.parent_id == parent.generation_id and row.actual_credits == 4


async def test_service_add_sound_muxes_the_sound_and_keeps_the_audio_file(rig: Rig) -> None:
    parent = await parent_clip(rig)
    form = Form.of(
        "video_to_audio", model=SOUND, video=MediaInput(path=str(parent.video)), prompt_text="waves", format="wav"
    )
    status = await rig.generate(form, parent=parent.generation_id)
    assert status.phase == "succeeded", status.message
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and row.parent_id == parent.generation_id
    assert row.form["duration"] == pytest.approx(2.0, abs=0.01)  # taken from the clip's length
    clip = probe(Path(row.output_path or ""))
    assert clip["size"] == (960, 960) and clip["audio"] == "aac"
    assert clip["audio_seconds"] == pytest.approx(2.0, abs=0.05)
    assert row.audio_path and Path(row.audio_path).suffix == ".wav" and Path(row.audio_path).is_file()
    assert probe(Path(row.audio_path))["audio_seconds"] == pytest.approx(2.0, abs=0.05)
    with open(row.output_path or "", "rb") as file:
        assert b"moov" in file.read(4096)  # faststart: the index comes first


async def test_add_sound_followed_by_a_replica_without_the_clip_reads_it_from_the_bucket(
    tmp_path: Path, bucket: Bucket
) -> None:
    data = tmp_path / "data"
    rig = Rig(tmp_path, store=bucket.store(data))
    parent = await parent_clip(rig)
    form = Form.of(
        "video_to_audio", model=SOUND, video=MediaInput(path=str(parent.video)), prompt_text="waves", format="wav"
    )
    job = await rig.studio.submit(form, provider=rig.provider, visitor="browser:alice", visitor_key=None)
    source = Path(rig.studio.history.get(job.generation_id).form["video"]["path"])  # the clip, kept as an input
    for folder in ("outputs", "inputs"):  # the task is followed where none of the files are
        for path in (data / folder).rglob("*"):
            if path.is_file():
                path.unlink()
    assert not source.exists()
    status = await job.wait_done()
    assert status.phase == "succeeded", status.message
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and row.audio_path and probe(Path(row.output_path or ""))["audio"] == "aac"
    made = {Path(p).relative_to(data).as_posix() for p in (row.output_path, row.poster_path, row.audio_path)}
    assert made <= bucket.objects()  # the clip with its sound, its poster and the audio file, for every replica
    await rig.studio.delete(row.id, visitor="browser:alice")
    assert await rig.studio.purge_deleted(visitor="browser:alice", generation_id=row.id, at_once=True) == 1
    assert not made & bucket.objects()


async def test_service_refuses_an_upscale_over_30_s_without_a_call(rig: Rig, tmp_path: Path) -> None:
    long_clip = write_video(tmp_path / "long.mp4", 31.0, size=(64, 64), fps=4)
    form = Form.of("video_upscale", model=UPSCALER, video=MediaInput(path=str(long_clip)), resolution="720p")
    with pytest.raises(InvalidInput) as info:
        await rig.studio.submit(form, provider=rig.provider, visitor="browser:alice", visitor_key=None)
    message = str(info.value)
    assert message.startswith("Input video:") and "31" in message and "at most 30 s" in message, message
    assert rig.created == 0 and rig.studio.history.unfinished() == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"model": FRAME_RATE, "target_framerate": "33"}, "Target frame rate: '33' is not allowed"),
        ({"model": FRAME_RATE, "target_framerate": "24", "resolution": "1k"}, "takes no Resolution setting"),
        ({"model": FRAME_RATE}, "Target frame rate is required for enhance_frame_rate"),
        ({"model": UPSCALER, "creativity": 150}, "Creativity 150 is out of range"),
    ],
)
async def test_service_refuses_bad_finishing_settings_without_a_call(
    rig: Rig, small_clip: Path, changes: dict[str, Any], says: str
) -> None:
    form = Form.of("video_upscale", video=MediaInput(path=str(small_clip)), **changes)
    with pytest.raises(InvalidInput) as info:
        await rig.studio.submit(form, provider=rig.provider, visitor="browser:alice", visitor_key=None)
    assert says in str(info.value)
    assert rig.created == 0


# --- History ---------------------------------------------------------------------------------------------------------


def test_history_keeps_the_audio_path_and_filters_a_tab_of_several_endpoints(tmp_path: Path) -> None:
    import sqlite3

    from studio.history import HistoryFilter, HistoryStore, NewGeneration, migrate

    store = HistoryStore(tmp_path / "h.sqlite3")
    made = {}
    for endpoint, model in (("video_upscale", FRAME_RATE), ("video_to_audio", SOUND), ("text_to_video", "gen4.5")):
        new = NewGeneration(
            visitor="browser:alice",
            provider="runway",
            endpoint=endpoint,
            model=model,
            form={},
            estimated_credits=1,
            key_source="your key",
            seed=None,
            output_seconds=2.0,
        )
        store.add(new)
        made[endpoint] = new.id
    store.set_output(
        made["video_to_audio"],
        output_path="/x/clip.mp4",
        poster_path="/x/clip.jpg",
        actual_credits=2,
        audio_path="/x/a.wav",
    )
    assert store.get(made["video_to_audio"]).audio_path == "/x/a.wav"  # type: ignore[union-attr]
    assert store.owns_file("/x/a.wav", visitor="browser:alice")
    finish = HistoryFilter(endpoint="video_upscale,video_to_audio")
    found = {g.endpoint for g in store.page("browser:alice", where=finish).items}
    assert found == {"video_upscale", "video_to_audio"}
    # The migration is applied once: a second run applies nothing and keeps the column.
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    assert migrate(db) == []
    assert "audio_path" in {row[1] for row in db.execute("PRAGMA table_info(generations)")}


def test_copy_as_code_posts_to_the_finishing_endpoints() -> None:
    from studio.codegen import snippets

    body = {"model": SOUND, "videoUri": "data:video/mp4;base64,AAAA", "duration": 2.0, "format": "wav"}
    code = snippets(base_url="https://api.dev.runwayml.com", endpoint="video_to_audio", body=body)
    assert "https://api.dev.runwayml.com/v1/video_to_audio" in code.curl
    assert 'http.post("/video_to_audio", json=body)' in code.python and "'duration': 2.0" in code.python
    assert "AAAA" not in code.python  # the clip's data URI is elided


async def test_add_sound_fails_plainly_when_its_clip_is_gone(rig: Rig, small_clip: Path, tmp_path: Path) -> None:
    clip = tmp_path / "mine.mp4"
    clip.write_bytes(small_clip.read_bytes())
    form = Form.of("video_to_audio", model=SOUND, video=MediaInput(path=str(clip)), prompt_text="wind")
    job = await rig.studio.submit(form, provider=rig.provider, visitor="browser:alice", visitor_key=None)
    row = rig.studio.history.get(job.generation_id)
    assert row is not None
    Path(row.form["video"]["path"]).unlink()  # the studio's own copy of the clip, removed meanwhile
    status = await job.wait_done()
    assert status.phase == "failed" and "is gone" in str(status.message)
