"""The Finish tab driven through the launched studio's API with gradio_client, on the embedded simulator.

One pass (Add sound) runs end to end on the official API's rules and returns the clip with a sound track; an
upscale over the API's 30 s and the proxy (which has no finishing passes) are refused before any task is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from gradio_client import Client, handle_file

from tests.appclient import args_for, latest, phases
from tests.conftest import LaunchedStudio
from tests.videos import write_video

pytestmark = pytest.mark.app

FINISH = "/generate_finish"


@pytest.fixture(scope="module")
def client(launched: LaunchedStudio) -> Client:
    return Client(launched.url, verbose=False)


def run(client: Client, **by_label: Any) -> list[Any]:
    job = client.submit(*args_for(client, FINISH, **by_label), api_name=FINISH)
    return list(job)


def test_add_sound_returns_the_clip_with_a_sound_track(client: Client, tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", 2.0, size=(160, 120))
    outputs = run(
        client,
        provider="simulator-runway",
        model="mirelo_sfx_2_0",
        input_video=handle_file(str(clip)),
        prompt="Rain on a tin roof",
        audio_format="wav",
    )
    names = [phase for phase, _ in phases(outputs)]
    assert names[-1] == "succeeded", phases(outputs)
    video = latest(outputs, 1)
    path = video["video"] if isinstance(video, dict) else video
    with av.open(str(path)) as container:
        assert container.streams.video and container.streams.audio
        sound = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(sound)) / sound.sample_rate
    assert seconds == pytest.approx(2.0, abs=0.05)


def test_refused_before_any_task(client: Client, launched: LaunchedStudio, tmp_path: Path) -> None:
    before = launched.created
    long_clip = write_video(tmp_path / "long.mp4", 31.0, size=(64, 64), fps=4)
    outputs = run(
        client,
        provider="simulator-runway",
        model="magnific_video_upscaler_creative",
        input_video=handle_file(str(long_clip)),
        resolution="720p",
    )
    status = latest(outputs, 0) or ""
    assert "Input video" in status and "at most 30 s" in status, status
    outputs = run(client, provider="simulator", model="mirelo_sfx_2_0", input_video=handle_file(str(long_clip)))
    status = latest(outputs, 0) or ""
    assert "does not offer Finish" in status, status
    assert launched.created == before
