"""The launched studio driven through its API with gradio_client, on the embedded simulator.

What a visitor (or a script) sees: each tab streams queued -> running (rising) -> succeeded and returns an MP4
of the requested length and size; moderation ends failed with the reason; what can be refused locally is refused
before any task is created; cancel cancels the task on the simulator.
"""

from __future__ import annotations

import re
import time
from typing import Any

import av
import pytest
from gradio_client import Client, handle_file

from tests.appclient import args_for, phases, submit_paper_boats, value
from tests.conftest import ASSETS, LaunchedStudio

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(launched: LaunchedStudio) -> Client:
    return Client(launched.url, verbose=False)


def run(client: Client, api_name: str, **by_label: Any) -> tuple[list[Any], Any]:
    job = client.submit(*args_for(client, api_name, **by_label), api_name=api_name)
    outputs = list(job)  # every streamed update
    return outputs, outputs[-1] if outputs else None


def decode(path: str) -> tuple[float, int, int, str]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (
            frames / float(stream.average_rate),
            stream.codec_context.width,
            stream.codec_context.height,
            stream.codec_context.name,
        )


def assert_streamed_success(outputs: list[Any]) -> None:
    seen = phases(outputs)
    names = [p for p, _ in seen]
    assert "queued" in names and names[-1] == "succeeded", seen
    running = [int(pct) for p, pct in seen if p == "running" and pct]
    assert len(running) >= 2 and running == sorted(running) and running[-1] > running[0], seen


def test_image_to_video_streams_and_returns_the_requested_clip(client: Client) -> None:
    outputs, final = run(
        client,
        "/generate_image_to_video",
        first_frame=handle_file(str(ASSETS / "lighthouse_dawn.jpg")),
        prompt="The camera drifts toward the lighthouse",
        model="gen4_turbo",
        ratio="720:1280",
        duration="5",
    )
    assert_streamed_success(outputs)
    seconds, width, height, codec = decode(final[1])
    assert (width, height, codec) == (720, 1280, "h264")
    assert seconds == pytest.approx(5.0, abs=0.05)


def test_video_to_video_uses_only_the_first_five_seconds(client: Client) -> None:
    outputs, final = run(
        client,
        "/generate_video_to_video",
        input_video=handle_file(str(ASSETS / "city_drive.mp4")),
        reference_image=handle_file(str(ASSETS / "watercolor_reference.jpg")),
        prompt="Repaint as watercolour",
        ratio="1280:720",
    )
    assert_streamed_success(outputs)
    seconds, width, height, _ = decode(final[1])
    assert (width, height) == (1280, 720)
    assert seconds == pytest.approx(5.0, abs=0.05)  # the example is 6 s long


def test_character_performance_follows_the_reference_length(client: Client) -> None:
    outputs, final = run(
        client,
        "/generate_character_performance",
        character_as="image",
        character_image=handle_file(str(ASSETS / "robot_character.png")),
        reference_performance_video=handle_file(str(ASSETS / "nodding_performance.mp4")),
        ratio="960:960",
    )
    assert_streamed_success(outputs)
    seconds, width, height, _ = decode(final[1])
    with av.open(str(ASSETS / "nodding_performance.mp4")) as ref:
        expected = ref.duration / 1_000_000
    assert (width, height) == (960, 960)
    assert seconds == pytest.approx(expected, abs=0.1)


def test_moderation_ends_failed_with_the_reason(client: Client) -> None:
    outputs, final = run(
        client,
        "/generate_image_to_video",
        first_frame=handle_file(str(ASSETS / "paper_boats.png")),
        prompt="please simulate moderation here",
        ratio="960:960",
    )
    assert phases(outputs)[-1][0] == "failed"
    assert "content moderation" in final[0] and "prompt" in final[0]
    assert all(value(out, 1) is None for out in outputs)  # no clip was offered


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"last_frame": handle_file(str(ASSETS / "lighthouse_dusk.jpg"))},
            "Last frame is supported by gen3a_turbo only",
        ),
        ({"ratio": "1280:768"}, "Ratio 1280:768 is not available for gen4_turbo"),
        ({"first_frame_link": "http://example.com/a.png", "first_frame": None}, "only https:// links are allowed"),
        ({"random_seed": False, "seed": 4294967296}, "Seed 4294967296 is out of range"),
    ],
)
def test_invalid_combinations_are_refused_before_any_task(
    client: Client, launched: LaunchedStudio, changes: dict[str, Any], message: str
) -> None:
    before = launched.created
    fields: dict[str, Any] = {
        "first_frame": handle_file(str(ASSETS / "lighthouse_dawn.jpg")),
        "model": "gen4_turbo",
        "ratio": "1280:720",
    }
    outputs, final = run(client, "/generate_image_to_video", **(fields | changes))
    assert 'data-phase="invalid"' in final[0]
    assert message in final[0].replace("&#x27;", "'")
    assert launched.created == before  # nothing was sent


def test_cancel_cancels_the_task_on_the_simulator(client: Client, launched: LaunchedStudio) -> None:
    job = submit_paper_boats(client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p in ("queued", "running") for p, _ in phases(job.outputs())):
        time.sleep(0.05)  # gradio_client's stream runs in its own thread; nothing to inject a clock into
    status = next(value(o, 0) for o in job.outputs() if "rs-task-id" in (value(o, 0) or ""))
    task_id = re.search(r'rs-task-id">([0-9a-f-]+)<', status).group(1)
    result = client.predict(*args_for(client, "/cancel_image_to_video"), api_name="/cancel_image_to_video")
    assert 'data-phase="cancelled"' in result
    list(job)  # the stream ends by itself once the job is cancelled
    assert phases(job.outputs())[-1][0] == "cancelled"
    snapshot = launched.engine.snapshot(launched.engine.tasks[task_id])
    assert snapshot["status"] == "CANCELLED"
