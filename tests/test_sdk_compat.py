"""The OFFICIAL ``runwayml`` SDK against the standalone simulator (``python -m studio.simulator``) on a loopback port.

If the simulator drifts from what Runway's own client sends or expects, these fail: the body shape, the headers
(``X-Runway-Version``), the task JSON the SDK parses, the 400 body it surfaces, and a rendered clip at the end.
The SDK's ``wait_for_task_output`` sleeps POLL_TIME +- POLL_JITTER/2 (6 +- 1.5 s) before each poll; those are
module constants in ``runwayml.lib.polling`` read at call time, a clean seam to make the wait short here.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image, ImageDraw

runwayml = pytest.importorskip("runwayml", reason="the official SDK is needed for the compatibility tests")
from runwayml import BadRequestError, RunwayML
from runwayml.lib import polling

from tests.conftest import API_FIXTURES, ROOT, free_port, simulator_argv


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        simulator_argv(port, pending_s=0.2, running_s=1.0),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"the simulator exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{url}/v1/tasks/ping", timeout=1).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start within 20 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "POLL_TIME", 0.4)
    monkeypatch.setattr(polling, "POLL_JITTER", 0.0)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        request.read()
        self.requests.append(request)

    def bodies(self, method: str = "POST") -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == method]


def sdk(url: str, recorder: Recorder) -> RunwayML:
    return RunwayML(
        api_key="sk-test", base_url=url, max_retries=0, http_client=httpx.Client(event_hooks={"request": [recorder]})
    )


def png_data_uri() -> str:
    image = Image.new("RGB", (120, 80), (20, 40, 90))
    ImageDraw.Draw(image).polygon([(60, 5), (75, 75), (45, 75)], fill=(240, 240, 230))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_sdk_image_to_video_end_to_end(simulator_url: str, fast_polling: None, tmp_path: Path) -> None:
    recorder = Recorder()
    client = sdk(simulator_url, recorder)
    uri = png_data_uri()
    task = client.image_to_video.create(
        model="gen4_turbo", prompt_image=uri, ratio="1280:720", duration=5, prompt_text="a lighthouse"
    )
    assert task.id
    result = task.wait_for_task_output(timeout=60)
    assert result.status == "SUCCEEDED"
    # The SDK's status union needs ``cost`` on finished tasks to pick the right model (else it falls back to
    # Pending and drops fields): the simulator must send it, as the current API does.
    assert type(result).__name__ == "AwaitableSucceeded"
    assert result.cost.credits == 25  # 5 s x 5 credits/s
    assert len(result.output) == 1

    # What the SDK sent: exactly the documented body, with the version header the simulator must accept.
    create = next(r for r in recorder.requests if r.method == "POST")
    assert create.url.path == "/v1/image_to_video"
    assert recorder.bodies() == [
        {"model": "gen4_turbo", "promptImage": uri, "ratio": "1280:720", "duration": 5, "promptText": "a lighthouse"}
    ]
    assert create.headers["X-Runway-Version"] == "2024-11-06"
    assert create.headers["Authorization"] == "Bearer sk-test"
    assert {r.url.path for r in recorder.requests if r.method == "GET"} == {f"/v1/tasks/{task.id}"}

    response = httpx.get(result.output[0], timeout=30)
    assert response.status_code == 200
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(response.content)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(5.0, abs=0.1)
        assert sum(1 for _ in container.decode(stream)) == 5 * 24


def test_sdk_sees_moderation_as_a_failed_task(simulator_url: str, fast_polling: None) -> None:
    client = sdk(simulator_url, Recorder())
    task = client.image_to_video.create(
        model="gen4_turbo", prompt_image=png_data_uri(), ratio="960:960", duration=5, prompt_text="simulate moderation"
    )
    with pytest.raises(polling.TaskFailedError) as info:
        task.wait_for_task_output(timeout=30)
    details = info.value.task_details
    assert details.status == "FAILED"
    assert type(details).__name__ == "AwaitableFailed"
    assert details.cost.credits == 25  # moderated tasks are charged like successful ones
    assert details.failure == "Text prompt did not pass moderation"
    assert details.failure_code == "INPUT_PREPROCESSING.SAFETY.TEXT"


def test_sdk_surfaces_the_400_issues(simulator_url: str) -> None:
    body = json.loads((API_FIXTURES / "proxy_image_to_video_request_2.json").read_text())
    client = sdk(simulator_url, Recorder())
    with pytest.raises(BadRequestError) as info:
        client.image_to_video.create(
            model=body["model"],
            prompt_image=body["promptImage"],
            ratio=body["ratio"],
            duration=body["duration"],
            prompt_text=body["promptText"],
            seed=body["seed"],
            extra_body={"watermark": body["watermark"]},
        )
    assert info.value.status_code == 400
    error = info.value.body
    assert isinstance(error, dict)
    messages = [issue["message"] for issue in error["issues"]]
    assert "Last frame is supported by veo3.1 and veo3.1_fast only." in messages  # the official API's rules
    assert "Watermark is only available on openai-hk, not on Simulator · Runway." in messages
    assert any(m.startswith("Ratio 1280:768 is not available for gen4_turbo") for m in messages)


def test_sdk_retrieves_and_cancels(simulator_url: str) -> None:
    recorder = Recorder()
    client = sdk(simulator_url, recorder)
    task = client.image_to_video.create(
        model="gen4_turbo",
        prompt_image=png_data_uri(),
        ratio="720:1280",
        duration=10,
        prompt_text="simulate moderation, cancel me",
    )
    live = client.tasks.retrieve(task.id)
    assert live.status in ("PENDING", "RUNNING")
    assert type(live).__name__ == f"Awaitable{live.status.title()}"
    assert live.estimated_cost.credits == 50  # 10 s x 5 credits/s
    client.tasks.delete(task.id)
    cancelled = client.tasks.retrieve(task.id)
    assert cancelled.status == "CANCELLED"
    assert type(cancelled).__name__ == "AwaitableCancelled"
    assert cancelled.cost.credits == 0
    assert [r.headers["X-Runway-Version"] for r in recorder.requests] == ["2024-11-06"] * 4


# --- Runway's current models, uploads and the account (runwayml 5.24) ----------------------------------------------


def _clip(url: str, tmp_path: Path) -> Path:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(response.content)
    return clip


def _measure(clip: Path) -> tuple[float, int, int, bool]:
    """(seconds, width, height, has an AAC audio stream)."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        audio = [s for s in container.streams.audio if s.codec_context.name == "aac"]
        return frames / float(stream.average_rate), stream.width, stream.height, bool(audio)


def _small_video(tmp_path: Path, seconds: float, *, fps: int = 24) -> Path:
    from tests.videos import write_video

    return write_video(tmp_path / f"in-{seconds:g}-{fps}.mp4", seconds, size=(320, 180), fps=fps)


def test_sdk_veo_with_a_first_and_a_last_frame_and_sound(
    simulator_url: str, fast_polling: None, tmp_path: Path
) -> None:
    recorder = Recorder()
    client = sdk(simulator_url, recorder)
    first, last = png_data_uri(), png_data_uri()
    task = client.image_to_video.create(
        model="veo3.1",
        prompt_image=[{"uri": first, "position": "first"}, {"uri": last, "position": "last"}],
        ratio="720:1280",
        duration=4,
        prompt_text="the sail fills",
    )
    result = task.wait_for_task_output(timeout=60)
    assert result.status == "SUCCEEDED" and result.cost.credits == 160  # 4 s x 40: audio is on by default
    seconds, width, height, audio = _measure(_clip(result.output[0], tmp_path))
    assert (round(seconds), width, height, audio) == (4, 720, 1280, True)


def test_sdk_gen4_5_text_to_video(simulator_url: str, fast_polling: None, tmp_path: Path) -> None:
    client = sdk(simulator_url, Recorder())
    task = client.text_to_video.create(model="gen4.5", prompt_text="a lantern on a river", ratio="1280:720", duration=2)
    result = task.wait_for_task_output(timeout=60)
    assert result.status == "SUCCEEDED" and result.cost.credits == 24
    seconds, width, height, audio = _measure(_clip(result.output[0], tmp_path))
    assert (round(seconds), width, height, audio) == (2, 1280, 720, False)


def test_sdk_aleph2_with_two_keyframes_on_an_uploaded_video(
    simulator_url: str, fast_polling: None, tmp_path: Path
) -> None:
    recorder = Recorder()
    client = sdk(simulator_url, recorder)
    uploaded = client.uploads.create_ephemeral(file=_small_video(tmp_path, 3))
    assert uploaded.uri.startswith("runway://")
    frame = png_data_uri()
    task = client.video_to_video.create(
        model="aleph2",
        video_uri=uploaded.uri,
        keyframes=[{"uri": frame, "seconds": 0.5}, {"uri": frame, "at": 0.9}],
        prompt_text="snow",
    )
    result = task.wait_for_task_output(timeout=60)
    assert result.status == "SUCCEEDED" and result.cost.credits == 84  # 3 s x 28
    seconds, width, height, _ = _measure(_clip(result.output[0], tmp_path))
    assert (round(seconds), width, height) == (3, 320, 180)  # the output keeps the input's resolution
    created = recorder.bodies()[-1]
    assert created["videoUri"] == uploaded.uri and "ratio" not in created


def test_sdk_reads_the_organization(simulator_url: str) -> None:
    account = sdk(simulator_url, Recorder()).organization.retrieve()
    assert isinstance(account.credit_balance, int) and account.credit_balance > 0
    assert "veo3.1" in account.tier.models and account.tier.models["veo3.1"].max_daily_generations is None


def test_sdk_refusals_of_the_official_dialect(simulator_url: str, tmp_path: Path) -> None:
    client = sdk(simulator_url, Recorder())
    frame = png_data_uri()
    video = "data:video/mp4;base64," + base64.b64encode(_small_video(tmp_path, 3).read_bytes()).decode()
    attempts = [
        (
            lambda: client.video_to_video.create(
                model="aleph2", video_uri=video, extra_body={"references": [{"type": "image", "uri": frame}]}
            ),
            "aleph2 takes no Reference image setting.",
        ),
        (
            lambda: client.image_to_video.create(
                model="veo3.1", prompt_image=[{"uri": frame, "position": "last"}], ratio="1280:720"
            ),
            "First frame is required. Upload an image or give an https link.",
        ),
        (
            lambda: client.character_performance.create(
                model="act_two",
                character={"type": "image", "uri": frame},
                reference={
                    "type": "video",
                    "uri": "data:video/mp4;base64," + base64.b64encode(_small_video(tmp_path, 2).read_bytes()).decode(),
                },
            ),
            "Reference performance video: the video is 2.0 s",
        ),
    ]
    for attempt, said in attempts:
        with pytest.raises(BadRequestError) as info:
            attempt()
        messages = [issue["message"] for issue in info.value.body["issues"]]  # type: ignore[index]
        assert any(m.startswith(said) for m in messages), messages
