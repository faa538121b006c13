"""The simulator's renders: real, browser-playable H.264 clips of the right size and length, made from the inputs.

Inputs are built here with Pillow, numpy and PyAV; nothing touches the network. Sizes are small and clips short
except where the test is about size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from studio.capabilities import GEN4_RATIOS, ratio_size
from studio.simulator.render import (
    FPS,
    AudioSpec,
    render_character_performance,
    render_image_to_video,
    render_text_to_video,
    render_video_to_video,
    scenes,
)
from studio.simulator.render import audio as render_audio
from studio.simulator.render import frames as render_frames
from studio.simulator.render import title as render_title

SMALL = (160, 96)
AAC_FRAME_SECONDS = render_audio.AAC_FRAME / render_audio.SAMPLE_RATE  # 1024 / 48000 s
TEXT_TO_VIDEO_SIZES = [(1280, 720), (720, 1280), (1080, 1920), (1920, 1080)]
PROMPT = "A lighthouse on a cliff at dusk, waves crashing below"


# --- building inputs and reading outputs ------------------------------------------------------------------------


def _picture(size: tuple[int, int], base: tuple[int, int, int], spot: tuple[int, int, int]) -> Image.Image:
    """A picture with structure (a gradient and two shapes) so that camera moves show up in the pixels."""
    width, height = size
    ramp = np.linspace(0.6, 1.0, width, dtype=np.float32)[None, :, None]
    image = Image.fromarray((np.array(base, np.float32) * ramp * np.ones((height, 1, 1))).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.2, height * 0.2, width * 0.55, height * 0.7), fill=spot)
    draw.rectangle((width * 0.65, height * 0.3, width * 0.85, height * 0.8), fill=(255, 255, 255))
    return image


def _write_video(
    path: Path, *, size: tuple[int, int] = (64, 64), seconds: float = 2.0, fps: int = 24, moving: bool = True
) -> Path:
    """A test clip: a yellow square on green that slides sideways (or stays put)."""
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    side = size[1] // 3
    for index in range(round(seconds * fps)):
        pixels = np.full((size[1], size[0], 3), (60, 110, 60), np.uint8)
        left = (index * 3) % (size[0] - side) if moving else size[0] // 3
        pixels[side : 2 * side, left : left + side] = (230, 220, 40)
        container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
    container.mux(stream.encode(None))
    container.close()
    return path


def _probe(path: Path) -> dict:
    """What a player learns from the file: codec, pixel format, size, duration and frame count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "seconds": float(stream.duration * stream.time_base),
            "frames": frames,
        }


def _audio(path: Path) -> dict | None:
    """What a player learns about the sound track, or None when there is none."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return {
            "codec": (stream.codec_context.name, stream.codec_context.profile),
            "format": (stream.rate, stream.channels),
            "seconds": float(stream.duration * stream.time_base),
            "decoded_seconds": samples / stream.rate,
        }


def _packets(path: Path, kind: str) -> bytes:
    """The encoded bytes of a file's video or audio track, in order."""
    with av.open(str(path)) as container:
        return b"".join(bytes(packet) for packet in container.demux(getattr(container.streams, kind)[0]))


def _frames(path: Path) -> list[np.ndarray]:
    """Every frame as RGB floats, decoded with the matrix the file is tagged with."""
    with av.open(str(path)) as container:
        return [_rgb(frame).astype(np.float32) for frame in container.decode(video=0)]


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    # PyAV 16 only sets up swscale's colourspace when the source and destination colourspaces differ, and both
    # default to the frame's own tag, so a BT.709-tagged frame decodes with swscale's default BT.601 matrix. Naming
    # a different destination makes it honour the source (for RGB output the destination matrix is unused).
    if frame.colorspace == 1:
        return frame.reformat(format="rgb24", src_colorspace="ITU709", dst_colorspace="ITU601").to_ndarray()
    return frame.to_ndarray(format="rgb24")


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def _fitted(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(ImageOps.fit(image.convert("RGB"), size), np.float32)


def _assert_duration(path: Path, seconds: float) -> None:
    info = _probe(path)
    assert info["frames"] == round(seconds * FPS)
    assert info["seconds"] == pytest.approx(seconds, abs=1 / FPS)


# --- common to every clip ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 s 1280x720 image_to_video clip, the default a visitor gets."""
    dest = tmp_path_factory.mktemp("hd") / "clip.mp4"
    first = _picture((1600, 1000), (90, 120, 200), (220, 60, 40))
    return render_image_to_video(
        first=first, last=None, size=ratio_size("1280:720"), seconds=5, seed=7, dest=dest, caption="a slow push in"
    )


def test_hd_clip_is_h264_yuv420p_at_the_requested_size_and_length(hd_clip: Path) -> None:
    info = _probe(hd_clip)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (1280, 720))
    _assert_duration(hd_clip, 5.0)


def test_moov_atom_comes_before_the_media_so_browsers_play_while_downloading(hd_clip: Path) -> None:
    data = hd_clip.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


@pytest.fixture(scope="module")
def small_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One short clip from each endpoint."""
    folder = tmp_path_factory.mktemp("small")
    video = _write_video(folder / "in.mp4", seconds=1)
    picture = _picture((200, 160), (120, 90, 60), (30, 160, 200))
    return {
        "image_to_video": render_image_to_video(
            first=picture, last=picture, size=SMALL, seconds=1, seed=1, dest=folder / "i.mp4"
        ),
        "video_to_video": render_video_to_video(
            video=video, reference=picture, size=SMALL, max_seconds=5, seed=1, dest=folder / "v.mp4", caption="hi"
        ),
        "character_performance": render_character_performance(
            character=picture, reference=video, size=SMALL, seed=1, dest=folder / "c.mp4"
        ),
        "text_to_video": render_text_to_video(prompt="hi", size=SMALL, seconds=1, seed=1, dest=folder / "t.mp4"),
    }


@pytest.mark.parametrize("endpoint", ["image_to_video", "video_to_video", "character_performance", "text_to_video"])
def test_every_endpoint_makes_faststart_h264_yuv420p(small_clips: dict[str, Path], endpoint: str) -> None:
    clip = small_clips[endpoint]
    info = _probe(clip)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", SMALL)
    data = clip.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("ratio", GEN4_RATIOS)
def test_every_gen4_ratio_renders_at_its_size(tmp_path: Path, ratio: str) -> None:
    first = _picture((640, 480), (90, 120, 200), (220, 60, 40))
    dest = render_image_to_video(
        first=first, last=None, size=ratio_size(ratio), seconds=0.25, seed=1, dest=tmp_path / "r.mp4"
    )
    assert _probe(dest)["size"] == ratio_size(ratio)
    _assert_duration(dest, 0.25)


def test_clip_is_tagged_bt709_limited_range_and_colours_survive(tmp_path: Path) -> None:
    flat = Image.new("RGB", (320, 200), (200, 50, 50))
    dest = render_image_to_video(first=flat, last=None, size=SMALL, seconds=0.5, seed=1, dest=tmp_path / "c.mp4")
    with av.open(str(dest)) as container:
        frame = next(container.decode(video=0))
    assert (frame.colorspace, frame.color_range) == (1, 1)
    centre = _frames(dest)[0][SMALL[1] // 2, SMALL[0] // 2]
    assert np.abs(centre - (200, 50, 50)).max() < 8


def test_every_frame_carries_the_simulated_mark_bottom_left(tmp_path: Path) -> None:
    """Bottom-left: players overlay their own label and download button on the top corners."""
    grey = Image.new("RGB", (320, 200), (110, 110, 110))
    dest = render_image_to_video(first=grey, last=None, size=(320, 192), seconds=1, seed=3, dest=tmp_path / "m.mp4")
    for frame in _frames(dest):
        corner, elsewhere = frame[-24:, :120], frame[:90, 120:]
        assert corner.max() > 200 and corner.min() < 60  # white letters on a dark pill
        assert np.abs(elsewhere - 110).max() < 12


def test_odd_sizes_round_down_to_even(tmp_path: Path) -> None:
    first = _picture((300, 200), (120, 90, 60), (30, 160, 200))
    dest = render_image_to_video(first=first, last=None, size=(161, 97), seconds=0.5, seed=1, dest=tmp_path / "o.mp4")
    assert _probe(dest)["size"] == (160, 96)


def test_clip_appears_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"the previous clip")
    planes = render_frames.still_planes(Image.new("RGB", SMALL, "grey"), SMALL)

    def three_frames_then_break(*_args: object) -> Iterator[object]:
        yield from (planes, planes, planes)
        raise RuntimeError("boom")

    monkeypatch.setattr(scenes, "_camera_frames", three_frames_then_break)
    with pytest.raises(RuntimeError, match="boom"):
        render_image_to_video(first=Image.new("RGB", SMALL), last=None, size=SMALL, seconds=1, seed=1, dest=dest)
    assert dest.read_bytes() == b"the previous clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_no_temporary_files_are_left_beside_a_finished_clip(tmp_path: Path) -> None:
    first = _picture((200, 120), (120, 90, 60), (30, 160, 200))
    render_image_to_video(first=first, last=None, size=SMALL, seconds=0.5, seed=1, dest=tmp_path / "out" / "a.mp4")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.mp4"]


# --- image to video ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [2, 3.5])
def test_image_to_video_lasts_the_requested_seconds(tmp_path: Path, seconds: float) -> None:
    first = _picture((320, 200), (90, 120, 200), (220, 60, 40))
    dest = render_image_to_video(first=first, last=None, size=SMALL, seconds=seconds, seed=1, dest=tmp_path / "d.mp4")
    _assert_duration(dest, seconds)


def test_same_seed_same_clip_and_another_seed_another_move(tmp_path: Path) -> None:
    first = _picture((400, 260), (90, 120, 200), (220, 60, 40))
    clips = [
        render_image_to_video(first=first, last=None, size=SMALL, seconds=2, seed=s, dest=tmp_path / f"{n}.mp4")
        for n, s in (("a", 4_294_967_295), ("b", 4_294_967_295), ("c", 12))
    ]
    a, b, c = (_frames(p) for p in clips)
    assert clips[0].read_bytes() == clips[1].read_bytes()
    for index in (0, len(a) // 2):
        assert np.array_equal(a[index], b[index])
    assert max(_difference(x, y) for x, y in zip(a, c)) > 1.0


def test_camera_moves_over_the_image(tmp_path: Path) -> None:
    first = _picture((400, 260), (90, 120, 200), (220, 60, 40))
    frames = _frames(
        render_image_to_video(first=first, last=None, size=SMALL, seconds=2, seed=5, dest=tmp_path / "m.mp4")
    )
    assert _difference(frames[0], frames[-1]) > 1.0
    assert _difference(frames[0], _fitted(first, SMALL)) < 25  # it is still the same picture


def test_crossfade_ends_on_the_last_image(tmp_path: Path) -> None:
    first = _picture((320, 200), (200, 80, 40), (30, 30, 200))
    last = _picture((240, 240), (30, 160, 90), (250, 250, 60))
    frames = _frames(
        render_image_to_video(first=first, last=last, size=SMALL, seconds=2, seed=3, dest=tmp_path / "x.mp4")
    )
    final = frames[-1]
    assert _difference(final, _fitted(last, SMALL)) < _difference(final, _fitted(first, SMALL)) / 2
    # The first half is still all ``first``.
    assert _difference(frames[len(frames) // 3], _fitted(first, SMALL)) < _difference(
        frames[len(frames) // 3], _fitted(last, SMALL)
    )


def test_caption_draws_a_band_near_the_bottom(tmp_path: Path) -> None:
    grey = Image.new("RGB", (320, 200), (128, 128, 128))
    plain, captioned = (
        _frames(
            render_image_to_video(
                first=grey, last=None, size=(320, 192), seconds=0.5, seed=1, dest=tmp_path / f"{n}.mp4", caption=text
            )
        )[0]
        for n, text in (("plain", ""), ("captioned", "a lighthouse in a storm " * 20))
    )
    bottom, middle = slice(120, 185), slice(60, 100)
    assert _difference(plain[bottom], captioned[bottom]) > 10
    assert _difference(plain[middle], captioned[middle]) < 2


# --- sound ------------------------------------------------------------------------------------------------------


def _render_with(endpoint: str, folder: Path, *, seconds: float, seed: int, audio: bool, name: str) -> Path:
    """A small clip from one of the endpoints that can carry sound."""
    dest = folder / f"{name}.mp4"
    if endpoint == "text_to_video":
        return render_text_to_video(prompt=PROMPT, size=SMALL, seconds=seconds, seed=seed, dest=dest, audio=audio)
    first = _picture((200, 160), (120, 90, 60), (30, 160, 200))
    return render_image_to_video(first=first, last=None, size=SMALL, seconds=seconds, seed=seed, dest=dest, audio=audio)


@pytest.mark.parametrize("endpoint", ["image_to_video", "text_to_video"])
@pytest.mark.parametrize("seconds", [0.25, 2.3, 4])
def test_a_soundtrack_is_stereo_aac_lc_lasting_as_long_as_the_picture(
    tmp_path: Path, endpoint: str, seconds: float
) -> None:
    clip = _render_with(endpoint, tmp_path, seconds=seconds, seed=5, audio=True, name="sound")
    picture = _probe(clip)
    sound = _audio(clip)
    assert sound is not None
    assert sound["codec"] == ("aac", "LC") and sound["format"] == (48_000, 2)
    assert picture["frames"] == round(seconds * FPS)
    assert abs(sound["seconds"] - picture["frames"] / FPS) <= AAC_FRAME_SECONDS
    assert abs(sound["decoded_seconds"] - picture["frames"] / FPS) <= AAC_FRAME_SECONDS
    data = clip.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("endpoint", ["image_to_video", "text_to_video"])
def test_no_soundtrack_unless_asked_and_the_picture_is_the_same_either_way(tmp_path: Path, endpoint: str) -> None:
    silent = _render_with(endpoint, tmp_path, seconds=1, seed=5, audio=False, name="silent")
    sounding = _render_with(endpoint, tmp_path, seconds=1, seed=5, audio=True, name="sounding")
    assert _audio(silent) is None
    assert _audio(sounding) is not None
    assert _packets(silent, "video") == _packets(sounding, "video")


def test_the_soundtrack_is_the_same_per_seed_and_differs_between_seeds(tmp_path: Path) -> None:
    a, b, c = (
        _render_with("image_to_video", tmp_path, seconds=2, seed=seed, audio=True, name=name)
        for name, seed in (("a", 11), ("b", 11), ("c", 12))
    )
    assert a.read_bytes() == b.read_bytes()
    assert _packets(a, "audio") != _packets(c, "audio")
    samples = [render_audio.soundtrack(AudioSpec(seconds=2, seed=seed)) for seed in (11, 11, 12)]
    assert np.array_equal(samples[0], samples[1])
    assert not np.array_equal(samples[0], samples[2])


def _loudest_tones(samples: np.ndarray) -> set[int]:
    """The four strongest frequencies (to the nearest 2 Hz) in the first half second of the left channel."""
    spectrum = np.abs(np.fft.rfft(samples[0, 2_400:26_400]))
    peaks = [i for i in range(1, len(spectrum) - 1) if spectrum[i - 1] < spectrum[i] >= spectrum[i + 1]]
    return {i * 2 for i in sorted(peaks, key=lambda i: spectrum[i])[-4:]}


def test_each_seed_plays_its_own_chord() -> None:
    chords = {seed: _loudest_tones(render_audio.soundtrack(AudioSpec(seconds=1, seed=seed))) for seed in (1, 2, 3)}
    assert len(chords[1]) == 4
    assert chords[1] != chords[2] and chords[1] != chords[3] and chords[2] != chords[3]
    assert all(80 < tone < 1_000 for tone in chords[1])  # soft low-mid tones, not hiss


def test_the_soundtrack_is_audible_but_soft_and_fades_in_and_out() -> None:
    samples = render_audio.soundtrack(AudioSpec(seconds=3, seed=4))
    assert samples.shape == (2, 3 * 48_000) and samples.dtype == np.float32
    level = float(np.sqrt(np.mean(samples**2)))
    assert 0.02 < level < 0.2 and np.abs(samples).max() < 0.7
    assert not np.array_equal(samples[0], samples[1])  # stereo, not two copies of one channel
    assert np.abs(samples[:, :48]).max() < 0.01 and np.abs(samples[:, -48:]).max() < 0.01


# --- text to video ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", TEXT_TO_VIDEO_SIZES)
def test_text_to_video_renders_at_each_size_for_the_requested_seconds(tmp_path: Path, size: tuple[int, int]) -> None:
    dest = render_text_to_video(prompt=PROMPT, size=size, seconds=0.5, seed=2, dest=tmp_path / "t.mp4")
    info = _probe(dest)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", size)
    _assert_duration(dest, 0.5)
    assert _audio(dest) is None


def test_text_to_video_lasts_the_requested_seconds_with_sound(tmp_path: Path) -> None:
    dest = render_text_to_video(prompt=PROMPT, size=SMALL, seconds=3, seed=2, dest=tmp_path / "t.mp4", audio=True)
    _assert_duration(dest, 3)
    sound = _audio(dest)
    assert sound is not None and abs(sound["seconds"] - 3) <= AAC_FRAME_SECONDS


def test_text_to_video_is_the_same_per_seed_and_prompt_and_differs_otherwise(tmp_path: Path) -> None:
    def render(name: str, prompt: str, seed: int) -> bytes:
        dest = tmp_path / f"{name}.mp4"
        return render_text_to_video(prompt=prompt, size=SMALL, seconds=1, seed=seed, dest=dest).read_bytes()

    first = render("a", PROMPT, 8)
    assert render("b", PROMPT, 8) == first
    assert render("c", PROMPT, 9) != first
    assert render("d", "A field of sunflowers", 8) != first


def test_text_to_video_draws_the_prompt_in_the_middle_over_seed_coloured_backdrops(tmp_path: Path) -> None:
    size = (320, 192)
    frames = {
        (prompt, seed): _frames(
            render_text_to_video(prompt=prompt, size=size, seconds=1, seed=seed, dest=tmp_path / f"{seed}{prompt}.mp4")
        )
        for prompt, seed in (("", 3), ("HELLO WORLD", 3), ("", 4))
    }
    middle = (slice(70, 122), slice(60, 260))
    blank, titled, other = frames[("", 3)][0], frames[("HELLO WORLD", 3)][0], frames[("", 4)][0]
    assert titled[middle].max() > blank[middle].max() + 40  # white letters
    assert _difference(titled[:40], blank[:40]) < 3  # away from the words it is the same backdrop
    assert np.abs(blank.mean(axis=(0, 1)) - other.mean(axis=(0, 1))).max() > 8  # another seed, other colours


def test_text_to_video_moves(tmp_path: Path) -> None:
    frames = _frames(render_text_to_video(prompt=PROMPT, size=SMALL, seconds=2, seed=1, dest=tmp_path / "m.mp4"))
    assert _difference(frames[0], frames[-1]) > 2.0


def test_the_title_grows_slowly_over_the_clip(tmp_path: Path) -> None:
    titled, blank = (
        _frames(render_text_to_video(prompt=prompt, size=(320, 192), seconds=2, seed=1, dest=tmp_path / f"{n}.mp4"))
        for n, prompt in (("titled", "HELLO"), ("blank", ""))
    )

    def title_width(index: int) -> int:
        columns = np.nonzero((np.abs(titled[index] - blank[index]).max(axis=2) > 60).any(axis=0))[0]
        return int(columns[-1] - columns[0])

    assert 1.03 < title_width(-1) / title_width(0) < 1.1


@pytest.mark.parametrize(
    "prompt",
    [
        "a lighthouse in a storm " * 30,
        "一座灯塔矗立在悬崖上，黄昏时分，海浪拍打着下方的岩石，海鸥在金色的光芒中盘旋。" * 8,
        "supercalifragilisticexpialidocious" * 12,
    ],
)
@pytest.mark.parametrize("size", [(1280, 720), (720, 1280)])
def test_a_long_title_wraps_to_four_lines_within_the_frame_and_ends_with_an_ellipsis(
    prompt: str, size: tuple[int, int]
) -> None:
    lines, px = render_title.title_lines(prompt, size)
    font = render_frames.load_font(px)
    assert len(lines) == render_title.MAX_LINES
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 0.8 * size[0] for line in lines)


def test_a_short_title_keeps_every_word_large() -> None:
    lines, px = render_title.title_lines("a cat on a mat", (1280, 720))
    assert lines == ["a cat on a mat"]
    assert px == 72


# --- video to video ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("input_seconds", "max_seconds", "expected"), [(1.5, 5.0, 1.5), (3.0, 2.0, 2.0)])
def test_video_to_video_lasts_min_of_input_and_limit(
    tmp_path: Path, input_seconds: float, max_seconds: float, expected: float
) -> None:
    video = _write_video(tmp_path / "in.mp4", seconds=input_seconds, fps=30)
    dest = render_video_to_video(
        video=video, reference=None, size=SMALL, max_seconds=max_seconds, seed=1, dest=tmp_path / "out.mp4"
    )
    info = _probe(dest)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", SMALL)
    _assert_duration(dest, expected)


def test_video_to_video_follows_the_input_motion(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "in.mp4", size=(96, 64), seconds=1)
    frames = _frames(
        render_video_to_video(
            video=video, reference=None, size=(96, 64), max_seconds=5, seed=2, dest=tmp_path / "o.mp4"
        )
    )
    assert _difference(frames[0], frames[-1]) > 2.0


def test_video_to_video_regrades_toward_the_reference_colours(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "in.mp4", seconds=1)
    reference = _picture((200, 160), (40, 60, 210), (20, 20, 120))
    output = np.mean(
        _frames(
            render_video_to_video(
                video=video, reference=reference, size=(64, 64), max_seconds=5, seed=1, dest=tmp_path / "o.mp4"
            )
        ),
        axis=(0, 1, 2),
    )
    source = np.mean(_frames(video), axis=(0, 1, 2))
    target = np.asarray(reference, np.float32).mean(axis=(0, 1))
    assert np.linalg.norm(output - target) < 0.7 * np.linalg.norm(source - target)


def test_video_to_video_without_reference_tints_by_seed(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "in.mp4", seconds=0.5)
    means = {
        seed: np.mean(
            _frames(
                render_video_to_video(
                    video=video, reference=None, size=(64, 64), max_seconds=5, seed=seed, dest=tmp_path / f"{seed}.mp4"
                )
            ),
            axis=(0, 1, 2),
        )
        for seed in (1, 2)
    }
    again = render_video_to_video(
        video=video, reference=None, size=(64, 64), max_seconds=5, seed=1, dest=tmp_path / "1b.mp4"
    )
    assert (tmp_path / "1.mp4").read_bytes() == again.read_bytes()
    assert np.abs(means[1] - means[2]).max() > 3


def test_video_to_video_fits_other_aspect_ratios_by_cover_and_centre_crop(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "wide.mp4", size=(128, 64), seconds=0.5, moving=False)
    dest = render_video_to_video(
        video=video, reference=None, size=(64, 96), max_seconds=5, seed=1, dest=tmp_path / "t.mp4"
    )
    assert _probe(dest)["size"] == (64, 96)
    centre = _frames(dest)[0][48, 14]
    assert centre[0] > 120 and centre[2] < 110  # the yellow square sat in the middle of the wide input


def test_a_file_without_video_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    audio = tmp_path / "sound.wav"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(ValueError, match="no video stream"):
        render_video_to_video(video=audio, reference=None, size=SMALL, max_seconds=5, seed=1, dest=tmp_path / "o.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(ValueError, match="junk.mp4"):
        render_video_to_video(video=junk, reference=None, size=SMALL, max_seconds=5, seed=1, dest=tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_a_video_without_timestamps_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    raw = _write_video(tmp_path / "raw.h264", seconds=0.5)  # a bare H.264 stream: no timestamps, no seeking
    with pytest.raises(ValueError, match="raw.h264 has no timed video frames"):
        render_video_to_video(video=raw, reference=None, size=SMALL, max_seconds=5, seed=1, dest=tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


# --- video to video: aleph2 (keyframes, the input's resolution, a target aspect) ----------------------------------


RED, BLUE = (220, 40, 40), (40, 40, 220)


@pytest.mark.parametrize(("source", "expected"), [((640, 360), (640, 360)), ((2560, 1440), (1920, 1080))])
def test_without_a_size_the_output_keeps_the_input_resolution_up_to_1080p(
    tmp_path: Path, source: tuple[int, int], expected: tuple[int, int]
) -> None:
    video = _write_video(tmp_path / "in.mp4", size=source, seconds=0.25, moving=False)
    dest = render_video_to_video(video=video, size=None, max_seconds=math.inf, seed=1, dest=tmp_path / "o.mp4")
    assert _probe(dest)["size"] == expected
    _assert_duration(dest, 0.25)


@pytest.mark.parametrize(
    ("source", "size", "aspect", "expected", "content"),
    [
        ((640, 360), None, None, (640, 360), (640, 360)),
        ((641, 361), None, None, (640, 360), (640, 360)),
        ((2560, 1440), None, None, (1920, 1080), (1920, 1080)),
        ((1440, 2560), None, None, (1080, 1920), (1080, 1920)),
        ((1080, 1920), None, None, (1080, 1920), (1080, 1920)),
        ((640, 360), (320, 320), None, (320, 320), (320, 320)),
        ((640, 360), None, (16, 9), (640, 360), (640, 360)),
        ((640, 360), None, (1, 1), (640, 640), (640, 360)),
        ((640, 360), None, (21, 9), (840, 360), (640, 360)),
        ((1920, 1080), None, (9, 16), (1080, 1920), (1080, 608)),
        ((1920, 1080), None, (21, 9), (1920, 822), (1462, 822)),
        ((640, 480), (1280, 720), (16, 9), (1280, 720), (960, 720)),
    ],
)
def test_the_output_size_and_the_picture_inside_it(
    source: tuple[int, int],
    size: tuple[int, int] | None,
    aspect: tuple[int, int] | None,
    expected: tuple[int, int],
    content: tuple[int, int],
) -> None:
    assert scenes._output_geometry(source, size, aspect) == (expected, content)


@pytest.mark.parametrize(("aspect", "expected"), [((1, 1), (128, 128)), ((21, 9), (168, 72)), ((9, 16), (128, 228))])
def test_a_target_aspect_letterboxes_the_whole_input_over_a_darkened_copy(
    tmp_path: Path, aspect: tuple[int, int], expected: tuple[int, int]
) -> None:
    video = _write_video(tmp_path / "in.mp4", size=(128, 72), seconds=0.5, moving=False)
    dest = render_video_to_video(
        video=video, size=None, max_seconds=math.inf, seed=1, dest=tmp_path / "o.mp4", target_aspect=aspect
    )
    width, height = _probe(dest)["size"]
    assert (width, height) == expected
    assert abs(width / height / (aspect[0] / aspect[1]) - 1) < 2 / min(width, height)
    _assert_duration(dest, 0.5)
    frame = _frames(dest)[0]
    left, top = (width - 128) // 2, (height - 72) // 2
    square = frame[top + 28 : top + 44, left + 46 : left + 62].mean(axis=(0, 1))  # the yellow square, whole
    assert square[0] > 150 and square[2] < 110
    bars = np.concatenate([frame[: max(top - 4, 0)].reshape(-1, 3), frame[height - top + 4 :].reshape(-1, 3)])
    bars = np.concatenate(
        [bars, frame[:, : max(left - 4, 0)].reshape(-1, 3), frame[:, width - left + 4 :].reshape(-1, 3)]
    )
    picture = frame[top + 4 : height - top - 4, left + 4 : width - left - 4]
    assert 0.3 * picture.mean() < bars.mean() < 0.8 * picture.mean()  # a darkened copy of the picture, not black


def test_keyframes_pull_the_colours_toward_each_keyframe_around_its_time(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "in.mp4", size=(64, 64), seconds=2)
    keyframes = [(Image.new("RGB", (32, 32), BLUE), 2.0), (Image.new("RGB", (32, 32), RED), 0.0)]  # any order
    frames = _frames(
        render_video_to_video(
            video=video, size=None, max_seconds=math.inf, seed=1, dest=tmp_path / "o.mp4", keyframes=keyframes
        )
    )
    early, late = np.mean(frames[:8], axis=(0, 1, 2)), np.mean(frames[-8:], axis=(0, 1, 2))
    assert early[0] > late[0] + 20 and late[2] > early[2] + 20
    assert early[0] > early[2] and late[2] > late[0]


def test_keyframes_replace_the_seed_tint(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "in.mp4", size=(64, 64), seconds=0.5)
    keyframes = [(Image.new("RGB", (32, 32), RED), 0.2)]
    a, b = (
        render_video_to_video(
            video=video, size=None, max_seconds=5, seed=seed, dest=tmp_path / f"{seed}.mp4", keyframes=keyframes
        )
        for seed in (1, 2)
    )
    assert a.read_bytes() == b.read_bytes()


def test_the_keyframe_target_holds_before_the_first_and_after_the_last_and_blends_between() -> None:
    target = scenes._keyframe_target([(Image.new("RGB", (8, 8), RED), 1.0), (Image.new("RGB", (8, 8), BLUE), 3.0)])
    source = (np.zeros(3), np.ones(3))
    red_mean, blue_mean = target(source, 1.0)[0], target(source, 3.0)[0]
    assert np.allclose(target(source, 0.0)[0], red_mean) and np.allclose(target(source, 9.0)[0], blue_mean)
    assert np.allclose(target(source, 2.0)[0], (red_mean + blue_mean) / 2)
    assert red_mean[2] > blue_mean[2]  # Cr: red is redder


# --- character performance --------------------------------------------------------------------------------------


def _frame_to_frame_change(path: Path) -> float:
    frames = _frames(path)
    return float(np.mean([_difference(a, b) for a, b in itertools.pairwise(frames)]))


def test_character_performance_lasts_as_long_as_the_reference(tmp_path: Path) -> None:
    reference = _write_video(tmp_path / "ref.mp4", seconds=3.0, fps=30)
    character = _picture((200, 240), (180, 140, 110), (40, 40, 40))
    dest = render_character_performance(
        character=character, reference=reference, size=SMALL, seed=1, dest=tmp_path / "a.mp4"
    )
    info = _probe(dest)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", SMALL)
    _assert_duration(dest, 3.0)


def test_a_moving_reference_moves_the_character_more_than_a_still_one(tmp_path: Path) -> None:
    character = _picture((200, 240), (180, 140, 110), (40, 40, 40))
    change = {
        moving: _frame_to_frame_change(
            render_character_performance(
                character=character,
                reference=_write_video(tmp_path / f"ref{moving}.mp4", seconds=2, moving=moving),
                size=SMALL,
                seed=3,
                dest=tmp_path / f"out{moving}.mp4",
                intensity=5,
            )
        )
        for moving in (True, False)
    }
    assert change[True] > 1.0
    assert change[True] > 4 * change[False]


def test_intensity_scales_the_motion(tmp_path: Path) -> None:
    character = _picture((200, 240), (180, 140, 110), (40, 40, 40))
    reference = _write_video(tmp_path / "ref.mp4", seconds=2)
    change = {
        level: _frame_to_frame_change(
            render_character_performance(
                character=character,
                reference=reference,
                size=SMALL,
                seed=3,
                dest=tmp_path / f"{level}.mp4",
                intensity=level,
                body_control=False,
            )
        )
        for level in (1, 5)
    }
    assert change[5] > 1.5 * change[1]


def test_a_character_video_is_looped_over_a_longer_reference(tmp_path: Path) -> None:
    character = _write_video(tmp_path / "char.mp4", size=(96, 64), seconds=1.0)
    reference = _write_video(tmp_path / "ref.mp4", seconds=2.5, moving=False)
    dest = render_character_performance(
        character=character, reference=reference, size=(96, 64), seed=1, dest=tmp_path / "o.mp4"
    )
    frames = _frames(dest)
    _assert_duration(dest, 2.5)
    # A still reference leaves the character's own motion, which restarts every second.
    assert _difference(frames[0], frames[FPS]) < 4 < _difference(frames[0], frames[FPS // 2])


def test_character_performance_is_deterministic_per_seed(tmp_path: Path) -> None:
    character = _picture((200, 240), (180, 140, 110), (40, 40, 40))
    reference = _write_video(tmp_path / "ref.mp4", seconds=1)
    a, b, c = (
        render_character_performance(
            character=character, reference=reference, size=SMALL, seed=s, dest=tmp_path / f"{n}.mp4"
        )
        for n, s in (("a", 9), ("b", 9), ("c", 10))
    )
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_intensity_outside_one_to_five_is_refused(tmp_path: Path) -> None:
    reference = _write_video(tmp_path / "ref.mp4", seconds=0.5)
    with pytest.raises(ValueError, match="1 to 5"):
        render_character_performance(
            character=Image.new("RGB", SMALL),
            reference=reference,
            size=SMALL,
            seed=1,
            dest=tmp_path / "o.mp4",
            intensity=6,
        )
