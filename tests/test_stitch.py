"""Storyboard export (studio.media.stitch): every clip is made here with PyAV, small and short."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from studio.errors import InvalidInput
from studio.media import stitch as stitch_module
from studio.media.stitch import ShotCut, expected_seconds, plan_issues, stitch

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)
Colour = tuple[int, int, int]


def make_clip(
    path: Path,
    *,
    size: tuple[int, int] = (320, 180),
    fps: int = 24,
    seconds: float = 1.0,
    colour: Colour | Callable[[float], Colour] = RED,
    audio: str | None = None,  # None, "stereo" or "mono"
    audio_rate: int = 48_000,
    sound_from: float = 0.0,
) -> Path:
    """A solid-colour H.264 clip (``colour`` may change with time), with a 440 Hz AAC sine when ``audio`` (silent
    before ``sound_from`` seconds)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {"preset": "ultrafast"}
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = audio
        count = round(seconds * fps)
        for index in range(count):
            shade = colour(index / fps) if callable(colour) else colour
            pixels = np.empty((size[1], size[0], 3), np.uint8)
            pixels[...] = shade
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = round(seconds * audio_rate)
            wave = (0.5 * np.sin(2 * np.pi * 440 * np.arange(samples) / audio_rate)).astype(np.float32)
            wave[: round(sound_from * audio_rate)] = 0
            channels = 1 if audio == "mono" else 2
            for start in range(0, samples, 1024):
                chunk = np.ascontiguousarray(np.tile(wave[start : start + 1024], (channels, 1)))
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=audio)
                aframe.sample_rate, aframe.pts = audio_rate, start
                container.mux(sound.encode(aframe))
            container.mux(sound.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "red": make_clip(folder / "red.mp4", audio="stereo"),
        "blue": make_clip(folder / "blue.mp4", colour=BLUE),
        "square30": make_clip(folder / "square30.mp4", size=(256, 256), fps=30, seconds=1.5, colour=BLUE),
        "mono": make_clip(folder / "mono.mp4", colour=GREEN, seconds=1.5, audio="mono", audio_rate=44_100),
        "halves": make_clip(
            folder / "halves.mp4",
            seconds=2.0,
            colour=lambda t: RED if t < 1.0 else GREEN,
            audio="stereo",
            sound_from=1.0,
        ),
        "ramp30": make_clip(folder / "ramp30.mp4", fps=30, colour=lambda t: (gray(round(t * 30)),) * 3),
    }


@dataclass
class Decoded:
    frames: list[np.ndarray]  # rgb24
    size: tuple[int, int]
    fps: Fraction
    audio_streams: int
    audio: np.ndarray | None  # (channels, samples) at audio_rate
    audio_rate: int

    @property
    def video_s(self) -> float:
        return len(self.frames) / float(self.fps)

    @property
    def audio_s(self) -> float:
        assert self.audio is not None
        return self.audio.shape[1] / self.audio_rate


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video)]
        size, fps = (video.width, video.height), Fraction(video.average_rate or 0)
    with av.open(str(path)) as container:
        count = len(container.streams.audio)
        audio, rate = None, 0
        if count:
            rate = container.streams.audio[0].sample_rate
            audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    return Decoded(frames, size, fps, count, audio, rate)


def gray(index: int) -> int:
    """The shade of frame ``index`` of the ramp clip."""
    return 16 + 7 * index


def mean_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


def near(frame: np.ndarray, colour: Colour, tolerance: float = 30) -> bool:
    return bool(np.abs(mean_colour(frame) - np.array(colour)).max() < tolerance)


# --- rendering ------------------------------------------------------------------------------------------------


def test_cuts_take_the_first_shots_size_and_rate_and_one_sound_track(clips: dict[str, Path], tmp_path: Path) -> None:
    shots = [
        ShotCut(clips["red"], "Shot 1"),  # 320x180, 24 fps, stereo
        ShotCut(clips["square30"], "Shot 2"),  # 256x256, 30 fps, silent
        ShotCut(clips["mono"], "Shot 3", in_s=0.25, out_s=1.25),  # mono 44.1 kHz
    ]
    result = stitch(shots, tmp_path / "out.mp4")
    out = decode(result.path)
    assert (result.width, result.height) == out.size == (320, 180)
    assert result.fps == out.fps == 24
    assert len(out.frames) == result.frames
    expected = 1.0 + 1.5 + 1.0
    assert expected_seconds(shots) == pytest.approx(expected)
    assert abs(out.video_s - expected) <= 1 / 24 and abs(result.duration_s - expected) <= 1 / 24
    assert result.has_audio and out.audio_streams == 1 and out.audio_rate == 48_000
    assert abs(out.audio_s - out.video_s) <= 1 / 24
    assert out.audio is not None and out.audio.shape[0] == 2  # the first shot with sound is stereo
    # In sync: sound under shots 1 and 3, silence under shot 2.
    loudness = [
        float(np.abs(out.audio[:, round(t * 48_000) : round((t + 0.3) * 48_000)]).mean()) for t in (0.3, 1.6, 2.8)
    ]
    assert loudness[0] > 0.1 and loudness[1] < 0.01 and loudness[2] > 0.1
    # Each shot's picture where it belongs.
    assert near(out.frames[12], RED) and near(out.frames[36], BLUE) and near(out.frames[-5], GREEN)
    assert not list(tmp_path.glob(".*")), "the hidden part file was renamed, not left behind"


def test_no_sound_track_when_no_shot_has_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    result = stitch([ShotCut(clips["blue"], "Shot 1"), ShotCut(clips["square30"], "Shot 2")], tmp_path / "out.mp4")
    out = decode(result.path)
    assert not result.has_audio and out.audio_streams == 0
    assert len(out.frames) == 24 + 36


def test_a_crossfade_shortens_by_its_frames_and_blends(clips: dict[str, Path], tmp_path: Path) -> None:
    cut = stitch([ShotCut(clips["red"], "Shot 1"), ShotCut(clips["blue"], "Shot 2")], tmp_path / "cut.mp4")
    shots = [ShotCut(clips["red"], "Shot 1", crossfade_frames=5), ShotCut(clips["blue"], "Shot 2")]
    faded = stitch(shots, tmp_path / "faded.mp4")
    assert cut.frames == 48 and faded.frames == 43
    assert expected_seconds(shots) == pytest.approx(2.0 - 5 / 24)
    out = decode(faded.path)
    assert len(out.frames) == 43 and abs(out.audio_s - out.video_s) <= 1 / 24
    red, middle, blue = (mean_colour(out.frames[i]) for i in (18, 21, 24))  # the overlap is frames 19..23
    assert near(out.frames[18], RED) and near(out.frames[24], BLUE)
    purple = (np.array(RED) + np.array(BLUE)) / 2
    assert np.abs(middle - purple).max() < 25, middle
    assert red[0] > middle[0] > blue[0] and red[2] < middle[2] < blue[2]
    # The sound fades out under the crossfade (shot 2 is silent): quieter in the overlap than before it.
    assert out.audio is not None
    before = np.abs(out.audio[:, 12_000:18_000]).mean()
    fading = np.abs(out.audio[:, round(21.5 / 24 * 48_000) : round(23 / 24 * 48_000)]).mean()
    assert fading < 0.6 * before


def test_trim_keeps_only_the_frames_between_in_and_out(clips: dict[str, Path], tmp_path: Path) -> None:
    """The clip is red and silent for its first second, green with a sine for its second: the sound is trimmed
    with the picture."""
    late = stitch([ShotCut(clips["halves"], "Shot 1", in_s=1.0)], tmp_path / "late.mp4")
    out = decode(late.path)
    assert len(out.frames) == 24 and all(near(frame, GREEN) for frame in out.frames)
    assert out.audio is not None and np.abs(out.audio[:, 2_400:45_000]).mean() > 0.2
    early = stitch([ShotCut(clips["halves"], "Shot 1", in_s=0.5, out_s=1.0)], tmp_path / "early.mp4")
    out = decode(early.path)
    assert len(out.frames) == 12 and all(near(frame, RED) for frame in out.frames)
    assert out.audio is not None and np.abs(out.audio[:, :21_000]).mean() < 0.01
    assert abs(out.audio_s - 0.5) <= 1 / 24


def test_a_faster_clip_is_conformed_to_the_first_shots_rate(clips: dict[str, Path], tmp_path: Path) -> None:
    result = stitch([ShotCut(clips["square30"], "Shot 1"), ShotCut(clips["red"], "Shot 2")], tmp_path / "out.mp4")
    out = decode(result.path)
    assert out.fps == 30 and out.size == (256, 256)
    assert len(out.frames) == 45 + 30  # 1.5 s and 1 s at 30 fps: the 24 fps shot repeats frames
    assert near(out.frames[60], RED)


def test_each_output_frame_shows_the_nearest_source_frame(clips: dict[str, Path], tmp_path: Path) -> None:
    """A 30 fps clip whose frame i is shade gray(i), after a 24 fps shot: output frame k (at k/24 s) shows the
    source frame nearest it, round(k * 30 / 24), dropping one source frame in five."""
    result = stitch([ShotCut(clips["blue"], "Shot 1"), ShotCut(clips["ramp30"], "Shot 2")], tmp_path / "out.mp4")
    frames = decode(result.path).frames[24:]
    assert len(frames) == 24
    shades = [float(mean_colour(frame).mean()) for frame in frames]
    wanted = [gray(int(k * 30 / 24 + 0.5)) for k in range(24)]
    assert max(abs(shade - want) for shade, want in zip(shades, wanted)) < 3.5, (shades, wanted)


def test_crop_fills_the_frame_and_pad_leaves_black_bars(clips: dict[str, Path], tmp_path: Path) -> None:
    shots = [ShotCut(clips["red"], "Shot 1"), ShotCut(clips["square30"], "Shot 2")]  # a square shot in 16:9
    cropped = decode(stitch(shots, tmp_path / "crop.mp4", fit="crop").path).frames[40]
    padded = decode(stitch(shots, tmp_path / "pad.mp4", fit="pad").path).frames[40]
    for frame in (cropped, padded):
        assert near(frame[70:110, 140:180], BLUE)  # the middle
    assert near(cropped[:, :20], BLUE) and near(cropped[:, -20:], BLUE)
    assert mean_colour(padded[:, :60]).max() < 25 and mean_colour(padded[:, -60:]).max() < 25  # black bars
    assert near(padded[:, 90:230], BLUE)  # the 180x180 square in the middle


def test_the_moov_atom_comes_first_and_progress_reaches_one(clips: dict[str, Path], tmp_path: Path) -> None:
    heard: list[float] = []
    result = stitch([ShotCut(clips["blue"], "Shot 1")], tmp_path / "out.mp4", on_progress=heard.append)
    data = result.path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    assert len(heard) == 24 and heard == sorted(heard) and heard[-1] == 1.0 and heard[0] > 0


def test_a_refused_storyboard_leaves_no_file(clips: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    with pytest.raises(InvalidInput):
        stitch([ShotCut(clips["blue"], "Shot 1", out_s=9.0)], dest)
    assert list(tmp_path.iterdir()) == []


def test_a_clip_that_fails_part_way_names_the_shot_and_keeps_the_previous_export(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"the previous export")
    real = stitch_module.frames_at

    def breaks_on_shot_2(video: Path, times: Iterable[float]) -> Iterator[av.VideoFrame]:
        for index, frame in enumerate(real(video, times)):
            if video == clips["blue"] and index == 5:
                raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
            yield frame

    monkeypatch.setattr(stitch_module, "frames_at", breaks_on_shot_2)
    with pytest.raises(InvalidInput) as raised:
        stitch([ShotCut(clips["red"], "Shot 1"), ShotCut(clips["blue"], "Shot 2")], dest)
    (issue,) = raised.value.issues
    assert issue.field == "Shot 2" and issue.path == (1, "path")
    assert str(issue.message).startswith("Shot 2: its clip could not be decoded while exporting")
    assert dest.read_bytes() == b"the previous export" and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


# --- validation -----------------------------------------------------------------------------------------------


def refused(shots: list[ShotCut]) -> list[str]:
    """The English of each issue ``plan_issues`` finds; ``stitch`` refuses the same issues."""
    issues = plan_issues(shots)
    with pytest.raises(InvalidInput) as raised:
        stitch(shots, Path("/nonexistent/never.mp4"))
    assert raised.value.issues == issues
    return [str(issue.message) for issue in issues]


def test_an_empty_storyboard_is_refused() -> None:
    assert refused([]) == ["The storyboard has no shots: add at least one clip."]


def test_an_out_point_before_the_in_point_names_the_shot_and_both_points(clips: dict[str, Path]) -> None:
    (message,) = refused([ShotCut(clips["red"], "Shot 1"), ShotCut(clips["blue"], "Shot 2", in_s=0.5, out_s=0.25)])
    assert message == "Shot 2: the out point (0.25 s) must be after the in point (0.5 s)."


def test_points_outside_the_clip_are_refused(clips: dict[str, Path]) -> None:
    messages = refused([ShotCut(clips["red"], "Shot 1", in_s=1.5), ShotCut(clips["blue"], "Shot 2", out_s=3.0)])
    assert messages == [
        "Shot 1: the in point (1.5 s) must be within the clip, from 0 to 1 s.",
        "Shot 2: the out point (3 s) must be within the clip, after 0 and at most its end at 1 s.",
    ]


def test_a_deleted_or_unreadable_clip_names_the_shot(clips: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    messages = refused(
        [ShotCut(clips["red"], "Shot 1"), ShotCut(tmp_path / "gone.mp4", "Shot 2"), ShotCut(text, "Shot 3")]
    )
    assert messages[0] == "Shot 2's clip was deleted: choose a clip for it again or remove the shot."
    assert messages[1].startswith("Shot 3: the file is not a video")
    assert [issue.path for issue in plan_issues([ShotCut(text, "Shot 3")])] == [(0, "path")]


def test_a_crossfade_longer_than_a_shot_is_refused(clips: dict[str, Path]) -> None:
    shots = [
        ShotCut(clips["red"], "Shot 1", crossfade_frames=30),  # 24 frames
        ShotCut(clips["mono"], "Shot 2", crossfade_frames=-1),
        ShotCut(clips["blue"], "Shot 3"),
    ]
    assert refused(shots) == [
        "Shot 1: the crossfade into Shot 2 is 30 frames, longer than Shot 1, which lasts 24 frames after trimming.",
        "Shot 2: the crossfade into Shot 3 is -1 frames; use 0 for a cut, or more frames for a crossfade.",
    ]
    issue = plan_issues(shots)[0]
    assert issue.field == "Shot 1" and issue.path == (0, "crossfade_frames")


def test_a_shot_shorter_than_its_two_crossfades_is_refused(clips: dict[str, Path]) -> None:
    shots = [
        ShotCut(clips["red"], "Shot 1", crossfade_frames=12),
        ShotCut(clips["blue"], "Shot 2", crossfade_frames=14),  # 24 frames, 26 of them crossfading
        ShotCut(clips["mono"], "Shot 3"),
    ]
    assert refused(shots) == [
        "Shot 2 lasts 24 frames after trimming, fewer than its two crossfades together (26 frames): "
        "shorten a crossfade or keep more of the shot."
    ]


def test_a_trim_shorter_than_a_frame_is_refused(clips: dict[str, Path]) -> None:
    (message,) = refused([ShotCut(clips["red"], "Shot 1", in_s=0.5, out_s=0.51)])
    assert message.startswith("Shot 1: from the in point (0.5 s) to the out point (0.51 s) is shorter than one frame")


def test_every_issue_is_found_at_once_shot_by_shot(clips: dict[str, Path], tmp_path: Path) -> None:
    shots = [
        ShotCut(clips["red"], "Shot 1", in_s=0.5, out_s=0.25),
        ShotCut(tmp_path / "gone.mp4", "Shot 2"),
        ShotCut(clips["blue"], "Shot 3", out_s=5.0, crossfade_frames=-2),
        ShotCut(clips["mono"], "Shot 4"),
    ]
    issues = plan_issues(shots)
    assert [(issue.field, issue.path) for issue in issues] == [
        ("Shot 1", (0, "out_s")),
        ("Shot 2", (1, "path")),
        ("Shot 3", (2, "out_s")),
        ("Shot 3", (2, "crossfade_frames")),
    ]


def test_the_last_shots_crossfade_is_ignored(clips: dict[str, Path]) -> None:
    assert plan_issues([ShotCut(clips["red"], "Shot 1", crossfade_frames=500)]) == []
