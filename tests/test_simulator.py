"""The studio's client against the simulator: in-process (``httpx.ASGITransport`` and a fake clock shared by both
sides), and once over a real loopback port with the real clock."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image, ImageDraw

from studio.capabilities import SIMULATOR
from studio.client import RunwayClient
from studio.errors import ApiError, DownloadError, InvalidInput
from studio.requests import ImageToVideoRequest, parse_request
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig
from studio.simulator.engine import MODERATION_CODE, MODERATION_MESSAGE
from studio.tasks import Cancelled, Failed, Pending, Running, Succeeded, Throttled
from tests.conftest import API_FIXTURES
from tests.fakes import FakeClock, ServerThread

ROOT = "http://testserver"
KEY = "sk-visitor-one"


def png_data_uri(width: int = 96, height: int = 64) -> str:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    ImageDraw.Draw(image).ellipse((20, 10, 60, 50), fill=(250, 220, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


PNG = png_data_uri()


def i2v(**fields: Any) -> ImageToVideoRequest:
    body = {
        "model": "gen4_turbo",
        "promptImage": PNG,
        "ratio": "1280:720",
        "duration": 5,
        "promptText": "a lighthouse",
        "seed": 42,
    }
    request = parse_request("image_to_video", body | fields, provider=SIMULATOR)
    assert isinstance(request, ImageToVideoRequest)
    return request


class Sim:
    def __init__(self, config: SimulatorConfig, *, prefix: str = "/runwayml") -> None:
        # The proxy's dialect (its /runwayml prefix) is the one these tests speak; tests/test_official_models.py
        # speaks Runway's own.
        self.clock = FakeClock()
        self.app = create_app(config, clock=self.clock)
        self.engine = self.app.state.engine
        self.transport = httpx.ASGITransport(app=self.app)
        self.client = RunwayClient(
            provider=SIMULATOR,
            base_url=ROOT + prefix,
            transport=self.transport,
            sleep=self.clock.sleep,
            clock=self.clock,
        )
        self.http = httpx.AsyncClient(transport=self.transport, base_url=ROOT + prefix)

    async def rendered(self) -> None:
        """Let every clip started so far finish rendering (real work in a worker thread; no fake time passes)."""
        renders = {t.render for t in self.engine.tasks.values() if t.render is not None}
        renders |= set(getattr(self.engine, "_renders", {}).values())  # also those of deleted tasks
        await asyncio.gather(*renders, return_exceptions=True)

    async def events(self, task_id: str, *, key: str = KEY, **kw: Any) -> list[Any]:
        return [event async for event in self.client.wait(task_id, key=key, **kw)]


@asynccontextmanager
async def simulator(config: SimulatorConfig | None = None, *, prefix: str = "/runwayml") -> AsyncIterator[Sim]:
    sim = Sim(config or SimulatorConfig(), prefix=prefix)
    try:
        yield sim
    finally:
        await sim.rendered()  # leave no render thread behind
        await sim.client.aclose()
        await sim.http.aclose()


def probe(path: Path) -> tuple[float, int, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert container.duration is not None
        seconds = container.duration / av.time_base
        return seconds, stream.width, stream.height, f"{stream.codec_context.name}:{frames}"


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- the happy path -------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(("ratio", "size"), [("1280:720", (1280, 720))])
async def test_image_to_video_end_to_end(tmp_path: Path, ratio: str, size: tuple[int, int]) -> None:
    async with simulator() as sim:
        created = await sim.client.create(i2v(ratio=ratio), key=KEY)
        assert created.estimated_credits == 25  # 5 s of gen4_turbo at 5 credits/s
        await sim.rendered()
        events = await sim.events(created.task_id)

        kinds = [type(e).__name__ for e in events]
        assert kinds[0] == "Pending"
        assert kinds[-1] == "Succeeded"
        # PENDING, then RUNNING, then SUCCEEDED: never back.
        order = {"Pending": 0, "Running": 1, "Succeeded": 2}
        assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
        progress = [e.progress for e in events if isinstance(e, Running)]
        assert len(progress) >= 3
        assert all(0 <= p < 1 for p in progress)
        assert all(b > a for a, b in itertools.pairwise(progress)), progress
        # Polled at the simulator's interval (0.5 s +- 20 %), not hammered.
        assert all(0.4 <= s <= 0.6 for s in sim.clock.sleeps)

        done = events[-1]
        assert isinstance(done, Succeeded) and len(done.outputs) == 1
        assert done.credits == 25
        clip = await sim.client.download(done.outputs[0], tmp_path / "clip.mp4", max_bytes=50 * 1024 * 1024)
        seconds, width, height, codec = probe(clip)
        assert (width, height) == size
        assert seconds == pytest.approx(5.0, abs=0.1)
        assert codec == "h264:120"  # 5 s at 24 fps, every frame decodes


@pytest.mark.asyncio
async def test_output_link_expires_after_its_ttl(tmp_path: Path) -> None:
    async with simulator(SimulatorConfig(output_ttl_s=3600)) as sim:
        created = await sim.client.create(i2v(ratio="960:960"), key=KEY)
        await sim.rendered()
        done = (await sim.events(created.task_id))[-1]
        assert isinstance(done, Succeeded)
        url = done.outputs[0]
        sim.clock.advance(3000)
        assert (await sim.http.get(url)).status_code == 200
        seconds, width, height, _ = probe(await sim.client.download(url, tmp_path / "a.mp4", max_bytes=50_000_000))
        assert (width, height) == (960, 960) and seconds == pytest.approx(5.0, abs=0.1)
        sim.clock.advance(700)  # past the hour
        response = await sim.http.get(url)
        assert response.status_code == 403
        with pytest.raises(DownloadError, match="expired"):
            await sim.client.download(url, tmp_path / "b.mp4", max_bytes=50_000_000)
        assert not (tmp_path / "b.mp4").exists()
        # A tampered signature is refused even before expiry.
        fresh = (await sim.client.get_task(created.task_id, key=KEY)).output
        assert fresh is not None
        assert (await sim.http.get(fresh[0].replace("sig=", "sig=0"))).status_code == 403


@pytest.mark.asyncio
async def test_a_clip_leaves_the_simulators_disk_when_its_link_expires(tmp_path: Path) -> None:
    async with simulator(SimulatorConfig(output_ttl_s=3600, output_dir=tmp_path / "sim")) as sim:
        created = await sim.client.create(i2v(ratio="960:960"), key=KEY)
        await sim.rendered()
        assert isinstance((await sim.events(created.task_id))[-1], Succeeded)
        assert len(list((tmp_path / "sim").glob("*.mp4"))) == 1
        sim.clock.advance(3000)
        await sim.client.get_task(created.task_id, key=KEY)  # a read sweeps: the link still works, the clip stays
        assert len(list((tmp_path / "sim").glob("*.mp4"))) == 1
        sim.clock.advance(700)  # past the hour
        await sim.client.get_task(created.task_id, key=KEY)
        assert list((tmp_path / "sim").glob("*.mp4")) == []


@pytest.mark.asyncio
async def test_a_deleted_task_takes_its_clip_off_the_simulators_disk(tmp_path: Path) -> None:
    async with simulator(SimulatorConfig(output_dir=tmp_path / "sim")) as sim:
        created = await sim.client.create(i2v(ratio="960:960"), key=KEY)
        await sim.rendered()
        done = (await sim.events(created.task_id))[-1]
        assert isinstance(done, Succeeded)
        await sim.client.cancel_task(created.task_id, key=KEY)
        assert list((tmp_path / "sim").glob("*.mp4")) == []
        assert (await sim.http.get(done.outputs[0])).status_code == 403


def mp4_data_uri(seconds: float, *, size: tuple[int, int] = (160, 120), fps: int = 12) -> str:
    """A small H.264 clip of a square moving across (motion for act_two to follow)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(round(seconds * fps)):
            image = Image.new("RGB", size, (40, 40, 40))
            x = 10 + index * 3 % (size[0] - 40)
            ImageDraw.Draw(image).rectangle((x, 40, x + 30, 70), fill=(230, 200, 180))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return "data:video/mp4;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.asyncio
async def test_video_to_video_uses_the_first_five_seconds(tmp_path: Path) -> None:
    body = {
        "model": "gen4_aleph",
        "videoUri": mp4_data_uri(6.0),
        "promptText": "make it dusk",
        "ratio": "640:480",
        "references": [{"type": "image", "uri": PNG}],
    }
    async with simulator() as sim:
        created = await sim.client.create(parse_request("video_to_video", body, provider=SIMULATOR), key=KEY)
        await sim.rendered()
        done = (await sim.events(created.task_id))[-1]
        assert isinstance(done, Succeeded), done
        seconds, width, height, _ = probe(
            await sim.client.download(done.outputs[0], tmp_path / "v.mp4", max_bytes=50_000_000)
        )
    assert (width, height) == (640, 480)
    assert seconds == pytest.approx(5.0, abs=0.1)
    assert done.credits == 75  # 5 s x 15 credits/s


@pytest.mark.asyncio
async def test_character_performance_follows_the_reference_length(tmp_path: Path) -> None:
    body = {
        "model": "act_two",
        "character": {"type": "image", "uri": PNG},
        "reference": {"type": "video", "uri": mp4_data_uri(3.0)},
        "ratio": "960:960",
        "expressionIntensity": 4,
    }
    async with simulator() as sim:
        created = await sim.client.create(parse_request("character_performance", body, provider=SIMULATOR), key=KEY)
        await sim.rendered()
        done = (await sim.events(created.task_id))[-1]
        assert isinstance(done, Succeeded), done
        seconds, width, height, _ = probe(
            await sim.client.download(done.outputs[0], tmp_path / "c.mp4", max_bytes=50_000_000)
        )
    assert (width, height) == (960, 960)
    assert seconds == pytest.approx(3.0, abs=0.1)
    assert done.credits == 15  # charged for the 3 s made, not the 30 s the estimate allowed for


@pytest.mark.asyncio
async def test_an_input_that_cannot_be_decoded_fails_as_invalid_asset() -> None:
    not_a_png = "data:image/png;base64," + base64.b64encode(b"definitely not a png").decode()
    async with simulator() as sim:
        created = await sim.client.create(i2v(promptImage=not_a_png), key=KEY)
        await sim.rendered()
        failed = (await sim.events(created.task_id))[-1]
    assert isinstance(failed, Failed)
    assert failed.code == "ASSET.INVALID" and failed.reason.family == "invalid_input"
    assert "decoded" in (failed.provider_message or "")


# --- failures -------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_moderation_trigger_fails_like_the_proxy() -> None:
    trigger = SimulatorConfig().moderation_trigger
    async with simulator() as sim:
        created = await sim.client.create(i2v(promptText=f"a lighthouse, {trigger.upper()}"), key=KEY)
        events = await sim.events(created.task_id)
        failed = events[-1]
        assert isinstance(failed, Failed)
        assert failed.code == "INPUT_PREPROCESSING.SAFETY.TEXT" == MODERATION_CODE
        assert failed.provider_message == "Text prompt did not pass moderation" == MODERATION_MESSAGE
        assert failed.reason.family == "moderation" and "prompt" in str(failed.reason.message)
        raw = (await sim.http.get(f"/v1/tasks/{created.task_id}", headers=auth())).json()
        assert raw["status"] == "FAILED" and raw["failureCode"] == MODERATION_CODE
        assert raw["cost"] == {"credits": 25}  # moderated tasks are charged like successful ones
        assert sim.engine.tasks[created.task_id].render is None  # nothing was rendered for it


@pytest.mark.asyncio
async def test_delete_cancels_and_a_finished_task_is_then_gone() -> None:
    async with simulator() as sim:
        # A prompt the simulator moderates renders nothing (cheap), and would turn FAILED at 30 % progress:
        # cancelled at 12 %, it must stay CANCELLED.
        created = await sim.client.create(i2v(promptText="simulate moderation, then cancel"), key=KEY)
        sim.clock.advance(1.5)
        assert (await sim.client.get_task(created.task_id, key=KEY)).status == "RUNNING"
        response = await sim.http.delete(f"/v1/tasks/{created.task_id}", headers=auth())
        assert response.status_code == 204
        events = await sim.events(created.task_id)
        assert [type(e) for e in events] == [Cancelled]
        sim.clock.advance(60)  # it stays cancelled: it does not come back to life when its time is up
        cancelled = await sim.client.get_task(created.task_id, key=KEY)
        assert cancelled.status == "CANCELLED" and cancelled.cost == 0
        # Deleting a finished task removes it; afterwards it is unknown.
        assert (await sim.http.delete(f"/v1/tasks/{created.task_id}", headers=auth())).status_code == 204
        assert (await sim.http.delete(f"/v1/tasks/{created.task_id}", headers=auth())).status_code == 404
        gone = await sim.http.get(f"/v1/tasks/{created.task_id}", headers=auth())
        assert gone.status_code == 404 and isinstance(gone.json()["error"], str)
        await sim.client.cancel_task(created.task_id, key=KEY)  # the client treats 404 as already gone


# --- errors on the wire ---------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "sk-no-scheme"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcg=="}],
)
async def test_401_without_a_bearer_key(headers: dict[str, str]) -> None:
    async with simulator() as sim:
        calls = [
            sim.http.post("/v1/image_to_video", json=i2v().to_wire(), headers=headers),
            sim.http.get("/v1/tasks/c7f2b640-9adb-4565-8e99-f759cacef00c", headers=headers),
            sim.http.delete("/v1/tasks/c7f2b640-9adb-4565-8e99-f759cacef00c", headers=headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 401
            body = response.json()
            assert set(body) == {"error"} and "Bearer" in body["error"]
        assert sim.engine.counters.created == 0


CASES = [
    ("image_to_video", "proxy_image_to_video_request.json"),
    ("image_to_video", "proxy_image_to_video_request_2.json"),
    ("video_to_video", "proxy_video_to_video_request.json"),
    ("character_performance", "proxy_character_performance_request.json"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("endpoint", "name"), CASES, ids=[n for _, n in CASES])
async def test_400_for_the_proxys_invalid_examples_matches_the_studios_own_check(endpoint: str, name: str) -> None:
    body = json.loads((API_FIXTURES / name).read_text())
    with pytest.raises(InvalidInput) as info:
        parse_request(endpoint, body, provider=SIMULATOR)
    async with simulator() as sim:
        response = await sim.http.post(f"/v1/{endpoint}", json=body, headers=auth())
        assert response.status_code == 400
        payload = response.json()
        assert set(payload) == {"error", "issues"} and isinstance(payload["error"], str)
        for issue in payload["issues"]:
            assert set(issue) == {"code", "path", "message"}
            assert isinstance(issue["code"], str) and isinstance(issue["path"], list)
        assert [i["message"] for i in payload["issues"]] == [str(i.message) for i in info.value.issues]
        assert [i["path"] for i in payload["issues"]] == [list(i.path) for i in info.value.issues]
        assert sim.engine.counters.created == 0


@pytest.mark.asyncio
async def test_the_client_shows_a_400_against_the_field() -> None:
    body = json.loads((API_FIXTURES / "proxy_image_to_video_request_2.json").read_text())
    unchecked = ImageToVideoRequest.model_validate(body)  # the shape is fine; the table's rules are not
    async with simulator() as sim:
        with pytest.raises(ApiError) as info:
            await sim.client.create(unchecked, key=KEY)
    assert info.value.status == 400
    assert {i.path[0] for i in info.value.issues} == {"ratio", "promptImage"}
    assert "Last frame is supported by gen3a_turbo only." in str(info.value)
    assert "Ratio 1280:768 is not available for gen4_turbo" in str(info.value)


@pytest.mark.asyncio
async def test_400_for_bodies_that_are_not_json_objects() -> None:
    async with simulator() as sim:
        not_json = await sim.http.post("/v1/image_to_video", content=b"{nope", headers=auth())
        assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
        a_list = await sim.http.post("/v1/image_to_video", json=[1, 2], headers=auth())
        assert a_list.status_code == 400 and a_list.json()["issues"]


@pytest.mark.asyncio
async def test_404_for_an_unknown_task() -> None:
    async with simulator() as sim:
        for method in ("GET", "DELETE"):
            response = await sim.http.request(method, "/v1/tasks/00000000-0000-0000-0000-000000000000", headers=auth())
            assert response.status_code == 404
            assert set(response.json()) == {"error"}


@pytest.mark.asyncio
async def test_the_proxys_runwayml_prefix_serves_the_same_api() -> None:
    async with simulator() as sim:
        seen: list[str] = []
        sim.client._http.event_hooks["request"].append(lambda r: _record(seen, r))
        created = await sim.client.create(i2v(promptText="simulate moderation please"), key=KEY)
        events = await sim.events(created.task_id)
        assert isinstance(events[-1], Failed)
        await sim.client.cancel_task(created.task_id, key=KEY)
        assert (await sim.http.get(f"/v1/tasks/{created.task_id}", headers=auth())).status_code == 404
        assert seen and all(path.startswith("/runwayml/v1/") for path in seen)
        bad = await sim.http.post("/v1/image_to_video", json={"model": "gen4_turbo"}, headers=auth())
        assert bad.status_code == 400
        assert (await sim.http.get("/v1/tasks/x")).status_code == 401


async def _record(seen: list[str], request: httpx.Request) -> None:
    seen.append(request.url.path)


# --- accounts: concurrency, counters, keys --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_max_concurrent_throttles_the_second_task_until_the_first_finishes() -> None:
    config = SimulatorConfig(max_concurrent=1, pending_s=1.0, running_s=4.0)
    async with simulator(config) as sim:
        first = await sim.client.create(i2v(seed=3), key=KEY)
        second = await sim.client.create(i2v(seed=3), key=KEY)  # the same body: one shared render
        await sim.rendered()

        async def statuses() -> tuple[str, str]:
            return (
                (await sim.client.get_task(first.task_id, key=KEY)).status,
                (await sim.client.get_task(second.task_id, key=KEY)).status,
            )

        assert await statuses() == ("PENDING", "THROTTLED")
        sim.clock.advance(3.0)
        assert await statuses() == ("RUNNING", "THROTTLED")
        sim.clock.advance(1.9)
        assert await statuses() == ("RUNNING", "THROTTLED")
        sim.clock.advance(0.1)  # the first is done: the second leaves the queue
        assert await statuses() == ("SUCCEEDED", "PENDING")
        later = await sim.events(second.task_id)
        assert isinstance(later[-1], Succeeded)
        assert not any(isinstance(e, Throttled) for e in later)


@pytest.mark.asyncio
async def test_a_throttled_task_reports_throttled_while_waiting() -> None:
    config = SimulatorConfig(max_concurrent=1, pending_s=1.0, running_s=4.0)
    async with simulator(config) as sim:
        await sim.client.create(i2v(promptText="simulate moderation one"), key=KEY)
        second = await sim.client.create(i2v(promptText="simulate moderation two"), key=KEY)
        events = await sim.events(second.task_id)
        kinds = [type(e) for e in events]
        assert kinds[0] is Throttled and kinds[-1] is Failed
        assert Pending in kinds and Running in kinds
        first_pending = next(e for e in events if isinstance(e, Pending))
        assert first_pending.elapsed_s >= 5.0 - 0.6  # queued behind the whole of the first task


@pytest.mark.asyncio
async def test_counters_count_creations_and_each_task_keeps_its_own_key() -> None:
    async with simulator() as sim:
        keys = ["sk-alpha", "sk-bravo", "sk-charlie"]
        created = await asyncio.gather(
            *(sim.client.create(i2v(promptText=f"simulate moderation {k}"), key=k) for k in keys)
        )
        rejected = await sim.http.post("/v1/image_to_video", json={"model": "gen4_turbo"}, headers=auth())
        assert rejected.status_code == 400
        assert sim.engine.counters.created == 3
        assert sim.engine.counters.by_endpoint == {"image_to_video": 3}
        for key, task in zip(keys, created):
            assert sim.engine.tasks[task.task_id].authorization == f"Bearer {key}"
        assert len({c.task_id for c in created}) == 3


# --- over a real loopback port, real clock ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_end_to_end_over_a_loopback_port(tmp_path: Path) -> None:
    app = create_app(SimulatorConfig(pending_s=0.2, running_s=1.0))
    with ServerThread(app) as base_url:
        client = RunwayClient(provider=SIMULATOR, base_url=base_url)
        try:
            started = time.monotonic()
            created = await client.create(i2v(ratio="720:1280", seed=5), key=KEY)
            events = [e async for e in client.wait(created.task_id, key=KEY, timeout_s=60)]
            took = time.monotonic() - started
            done = events[-1]
            assert isinstance(done, Succeeded), events
            assert done.outputs[0].startswith(base_url + "/")
            assert any(isinstance(e, Running) for e in events)
            clip = await client.download(done.outputs[0], tmp_path / "clip.mp4", max_bytes=50 * 1024 * 1024)
        finally:
            await client.aclose()
    assert 1.2 <= took < 30
    seconds, width, height, _ = probe(clip)
    assert (width, height) == (720, 1280)
    assert seconds == pytest.approx(5.0, abs=0.1)
    assert app.state.engine.tasks[created.task_id].authorization == f"Bearer {KEY}"
