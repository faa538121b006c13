"""Image and video preparation: every fixture is built here with Pillow, numpy and PyAV (no binary files)."""

from __future__ import annotations

import base64
import io
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from studio.capabilities import GEN4_RATIOS, InputLimits, VideoInputRule, ratio_size
from studio.errors import MediaError
from studio.media import Fit, check_url, prepare_image, prepare_video, probe_video, save_frame
from tests.images import encoded, halves, noise, png_header_only
from tests.videos import write_video

LIMITS = InputLimits()
REFERENCE = VideoInputRule(min_seconds=3.0, max_seconds=30.0)
ALEPH = VideoInputRule(use_first_seconds=5.0)
ANY_LENGTH = VideoInputRule()


# --- helpers --------------------------------------------------------------------------------------------------


def decoded(uri: str) -> Image.Image:
    header, payload = uri.split(",", 1)
    assert header.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected))


def rejected(source: bytes | Path | str, *, field: str = "First frame", **options: object) -> str:
    options = {"ratio": "1280:720", "limits": LIMITS, **options}
    with pytest.raises(MediaError) as caught:
        prepare_image(source, field=field, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"{field}: "), message
    return message


def make_video(path: Path, seconds: float, *, fps: int = 4, size: tuple[int, int] = (64, 64), **more: Any) -> Path:
    """``write_video`` (tests/videos.py) at these tests' size and rate unless told otherwise: 64x64, 4 fps."""
    return write_video(path, seconds, fps=fps, size=size, **more)


def video_rejected(
    path: Path,
    *,
    field: str = "Input video",
    rule: VideoInputRule = ANY_LENGTH,
    limits: InputLimits = LIMITS,
    workdir: Path,
) -> str:
    with pytest.raises(MediaError) as caught:
        prepare_video(path, field=field, rule=rule, limits=limits, workdir=workdir)
    message = str(caught.value)
    assert message.startswith(f"{field}: "), message
    return message


# --- images: rejected ---------------------------------------------------------------------------------------


def test_empty_bytes_and_empty_file_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for source in (b"", empty):
        message = rejected(source)
        assert "empty" in message and "JPEG, PNG or WebP" in message


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    assert "could not be read" in rejected(str(tmp_path / "nope.png"))


def test_text_renamed_png_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("these are my meeting notes, not a picture\n" * 20)
    message = rejected(fake)
    assert "not an image" in message and "Use a JPEG, PNG or WebP image." in message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_rejected(fmt: str) -> None:
    whole = encoded(noise(256, 256), fmt)
    message = rejected(whole[: len(whole) // 2])
    assert "damaged or incomplete" in message


def test_gif_is_rejected_with_the_allowed_formats() -> None:
    gif = encoded(Image.new("RGB", (64, 64), "red"), "GIF")
    assert rejected(gif) == "First frame: GIF images are not accepted. Use a JPEG, PNG or WebP image."


@pytest.mark.parametrize(
    "text",
    [
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
)
def test_svg_is_rejected_before_pillow(text: str) -> None:
    assert "SVG images are not accepted. Use a JPEG, PNG or WebP image." in rejected(text.encode())


def test_formats_come_from_the_limits() -> None:
    message = rejected(encoded(Image.new("RGB", (64, 64)), "PNG"), limits=InputLimits(image_formats=("JPEG",)))
    assert message == "First frame: PNG images are not accepted. Use a JPEG image."


def test_30000_square_png_bomb_is_refused_without_decoding() -> None:
    message = rejected(png_header_only(30_000, 30_000))
    assert "too large to process" in message and "100 megapixels" in message


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_and_side_caps_apply_before_decoding() -> None:
    over_pixels = rejected(png_header_only(12_000, 9_000))  # 108 MP: below Pillow's own error threshold
    assert "12000x9000 pixels, too large to process" in over_pixels
    over_side = rejected(png_header_only(40_000, 10), fit="crop")
    assert "40000x10" in over_side and f"sides up to {4 * LIMITS.image_max_side_px} px" in over_side


def test_as_is_rejects_an_aspect_outside_the_limits() -> None:
    message = rejected(encoded(Image.new("RGB", (900, 300), "green"), "PNG"), fit="as-is")
    assert "aspect 3.00" in message and "between 0.5 and 2" in message


def test_noise_that_cannot_fit_a_tiny_limit_is_rejected() -> None:
    message = rejected(encoded(noise(640, 360), "PNG"), limits=InputLimits(image_data_uri_bytes=3_000))
    assert "cannot be made to fit 3 KiB" in message


# --- images: prepared ---------------------------------------------------------------------------------------


def test_wide_image_is_cropped_to_the_exact_ratio_size() -> None:
    prepared = prepare_image(
        encoded(Image.new("RGB", (900, 300), "green"), "PNG"), field="First frame", ratio="1280:720", limits=LIMITS
    )
    assert (prepared.width, prepared.height) == (1280, 720)
    assert prepared.source_size == (900, 300)
    assert prepared.mime == "image/jpeg" and prepared.data_uri.startswith("data:image/jpeg;base64,")
    assert decoded(prepared.data_uri).size == (1280, 720) == prepared.preview.size
    assert prepared.preview.mode == "RGB"


@pytest.mark.parametrize("fit", ["crop", "pad"])
@pytest.mark.parametrize("ratio", GEN4_RATIOS + ("1280:768",))
def test_crop_and_pad_produce_the_ratio_size(ratio: str, fit: Fit) -> None:
    source = encoded(noise(400, 600), "PNG")  # large enough for every ratio (at most 4x enlargement)
    prepared = prepare_image(source, field="First frame", ratio=ratio, fit=fit, limits=LIMITS)
    width, height = ratio_size(ratio)
    if width / height > LIMITS.image_max_aspect:  # 1584:672 is 2.36: narrowed to the widest aspect allowed
        width = int(height * LIMITS.image_max_aspect)
    assert (prepared.width, prepared.height) == (width, height)
    assert decoded(prepared.data_uri).size == (width, height)


def test_pad_keeps_the_whole_image_and_fills_the_bars_darker() -> None:
    prepared = prepare_image(
        encoded(Image.new("RGB", (400, 400), (250, 30, 30)), "PNG"),
        field="First frame",
        ratio="1280:720",
        fit="pad",
        limits=LIMITS,
    )
    preview = prepared.preview
    assert preview.size == (1280, 720)
    assert close(preview.getpixel((640, 360)), (250, 30, 30))
    bar = preview.getpixel((20, 360))
    assert bar[0] < 200 and bar[0] > bar[1]  # a darkened, blurred copy of the picture: still reddish


def test_as_is_keeps_the_aspect_and_never_upscales() -> None:
    small = prepare_image(
        encoded(Image.new("RGB", (300, 200)), "PNG"), field="First frame", ratio="1280:720", fit="as-is", limits=LIMITS
    )
    assert (small.width, small.height) == (300, 200)
    source = encoded(Image.new("RGB", (3000, 2000)), "PNG")
    large = prepare_image(source, field="First frame", ratio="720:1280", fit="as-is", limits=LIMITS)
    assert (large.width, large.height) == (1280, 853)


def test_output_never_exceeds_the_side_limit() -> None:
    limits = InputLimits(image_max_side_px=500)
    prepared = prepare_image(encoded(noise(800, 600), "PNG"), field="First frame", ratio="1280:720", limits=limits)
    assert max(prepared.width, prepared.height) <= 500
    assert abs(prepared.width / prepared.height - 1280 / 720) < 0.01


def test_exif_orientation_6_comes_out_portrait_and_upright(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape; rotate 90 degrees clockwise to view
    halves(400, 200, (255, 0, 0), (0, 0, 255)).save(path, "JPEG", exif=exif, quality=95)
    prepared = prepare_image(path, field="First frame", ratio="720:1280", fit="as-is", limits=LIMITS)
    assert prepared.source_size == (200, 400)
    assert (prepared.width, prepared.height) == (200, 400)
    assert close(prepared.preview.getpixel((100, 50)), (255, 0, 0))  # the stored left half is now on top
    assert close(prepared.preview.getpixel((100, 350)), (0, 0, 255))


def test_cmyk_jpeg_becomes_sane_rgb() -> None:
    cmyk = encoded(Image.new("CMYK", (320, 180), (255, 0, 0, 0)), "JPEG", quality=95)  # pure cyan
    prepared = prepare_image(cmyk, field="First frame", ratio="1280:720", limits=LIMITS)
    assert prepared.preview.mode == "RGB"
    assert close(prepared.preview.getpixel((640, 360)), (0, 255, 255))


def test_16_bit_png_is_rescaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (256, 1))  # 512x256: at most 4x to 1280:720
    source = Image.fromarray(ramp)
    assert source.mode == "I;16"
    prepared = prepare_image(encoded(source, "PNG"), field="First frame", ratio="1280:720", fit="as-is", limits=LIMITS)
    assert prepared.preview.size == (512, 256)
    assert close(prepared.preview.getpixel((4, 128)), (0, 0, 0), 12)
    assert close(prepared.preview.getpixel((256, 128)), (128, 128, 128), 12)
    assert close(prepared.preview.getpixel((507, 128)), (255, 255, 255), 12)


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    rgba.paste((200, 0, 0, 255), (200, 0, 400, 200))
    prepared = prepare_image(encoded(rgba, "PNG"), field="First frame", ratio="1280:720", fit="as-is", limits=LIMITS)
    assert close(prepared.preview.getpixel((50, 100)), (255, 255, 255), 10)
    assert close(prepared.preview.getpixel((350, 100)), (200, 0, 0))


def test_camera_mpo_counts_as_jpeg() -> None:
    mpo = encoded(
        Image.new("RGB", (640, 480), "olive"), "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48))]
    )
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    prepared = prepare_image(mpo, field="First frame", ratio="1280:720", limits=LIMITS)
    assert (prepared.width, prepared.height) == (1280, 720)


def test_large_jpeg_keeps_its_source_size_and_centre() -> None:
    photo = halves(4000, 3000, (255, 0, 0), (0, 0, 255))
    photo.paste((0, 255, 0), (1900, 1400, 2100, 1600))  # a green square in the middle
    prepared = prepare_image(encoded(photo, "JPEG"), field="First frame", ratio="1280:720", limits=LIMITS)
    assert prepared.source_size == (4000, 3000)
    assert (prepared.width, prepared.height) == (1280, 720)
    assert close(prepared.preview.getpixel((640, 360)), (0, 255, 0))
    assert close(prepared.preview.getpixel((40, 360)), (255, 0, 0))


def test_webp_input_from_a_str_path(tmp_path: Path) -> None:
    path = tmp_path / "in.webp"
    Image.new("RGB", (640, 360), "navy").save(path, "WEBP")
    prepared = prepare_image(str(path), field="Reference image", ratio="1280:720", limits=LIMITS)
    assert (prepared.width, prepared.height) == (1280, 720)


def test_heavy_noise_steps_down_until_it_fits() -> None:
    limit = 150_000
    limits = InputLimits(image_data_uri_bytes=limit)
    prepared = prepare_image(encoded(noise(1280, 720), "PNG"), field="First frame", ratio="1280:720", limits=limits)
    assert len(prepared.data_uri) <= limit
    assert decoded(prepared.data_uri).size == prepared.preview.size == (prepared.width, prepared.height)


# --- videos -------------------------------------------------------------------------------------------------


def test_probe_reports_length_size_and_codec(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "clip.mp4", 3), field="Input video")
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert (info.width, info.height, info.codec, info.container) == (64, 64, "h264", "mp4")
    assert info.has_video and not info.has_audio
    assert info.size_bytes == (tmp_path / "clip.mp4").stat().st_size


@pytest.mark.parametrize(("seconds", "shown"), [(2, "2.0 s"), (40, "40.0 s")])
def test_reference_length_outside_the_rule_is_rejected(tmp_path: Path, seconds: float, shown: str) -> None:
    clip = make_video(tmp_path / "performance.mp4", seconds)
    message = video_rejected(clip, field="Reference performance video", rule=REFERENCE, workdir=tmp_path)
    assert f"the video is {shown} long" in message and "between 3 and 30 s" in message


def test_character_video_has_only_a_maximum(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "character.mp4", 31)
    message = video_rejected(clip, field="Character video", rule=VideoInputRule(max_seconds=30.0), workdir=tmp_path)
    assert message == "Character video: the video is 31.0 s long; it must be at most 30 s long."


def test_shorter_than_use_first_seconds_is_not_trimmed(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "short.mp4", 3)
    prepared = prepare_video(clip, field="Input video", rule=ALEPH, limits=LIMITS, workdir=tmp_path)
    assert not prepared.trimmed and not prepared.reencoded
    assert prepared.path == clip


def test_a_fitting_h264_mp4_is_sent_as_it_is(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "performance.mp4", 4)
    prepared = prepare_video(clip, field="Reference performance video", rule=REFERENCE, limits=LIMITS, workdir=tmp_path)
    assert not prepared.reencoded and not prepared.trimmed
    assert prepared.data_uri == "data:video/mp4;base64," + base64.b64encode(clip.read_bytes()).decode()
    assert prepared.info == prepared.source


def test_longer_than_use_first_seconds_is_trimmed(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "long.mp4", 7)
    prepared = prepare_video(clip, field="Input video", rule=ALEPH, limits=LIMITS, workdir=tmp_path / "out")
    assert prepared.trimmed and prepared.reencoded
    assert prepared.source.duration_s == pytest.approx(7.0, abs=0.05)
    assert prepared.info.duration_s == pytest.approx(5.0, abs=0.05)
    assert prepared.info.codec == "h264"
    assert prepared.data_uri.startswith("data:video/mp4;base64,")
    assert prepared.path is not None and prepared.path.parent == tmp_path / "out"


def test_mpeg4_is_reencoded_to_h264(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "old.mp4", 2, codec="mpeg4")
    prepared = prepare_video(clip, field="Input video", rule=ANY_LENGTH, limits=LIMITS, workdir=tmp_path)
    assert prepared.source.codec == "mpeg4"
    assert prepared.reencoded and not prepared.trimmed
    assert prepared.info.codec == "h264" and prepared.info.duration_s == pytest.approx(2.0, abs=0.05)
    data = base64.b64decode(prepared.data_uri.split(",", 1)[1])
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: playable while it downloads


def test_vp9_webm_is_sent_as_webm(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.webm", 2, codec="libvpx-vp9")
    prepared = prepare_video(clip, field="Input video", rule=ANY_LENGTH, limits=LIMITS, workdir=tmp_path)
    assert not prepared.reencoded
    assert prepared.data_uri.startswith("data:video/webm;base64,")


def test_h264_in_matroska_is_reencoded_to_mp4(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mkv", 2)
    prepared = prepare_video(clip, field="Input video", rule=ANY_LENGTH, limits=LIMITS, workdir=tmp_path)
    assert prepared.source.container == "mkv"
    assert prepared.reencoded and prepared.info.container == "mp4"


def test_too_large_is_reencoded_smaller_until_it_fits(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "raw.mp4", 2, fps=8, size=(128, 128), noise=True, options={"crf": "0"})
    limit = int(clip.stat().st_size * 4 / 3 * 0.5)
    prepared = prepare_video(
        clip, field="Input video", rule=ANY_LENGTH, limits=InputLimits(video_data_uri_bytes=limit), workdir=tmp_path
    )
    assert prepared.reencoded and len(prepared.data_uri) <= limit


def test_too_large_even_after_reencoding_is_rejected(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", 4, noise=True, options={})  # lossy: the encoder's defaults
    limits = InputLimits(video_data_uri_bytes=3_000)
    message = video_rejected(clip, limits=limits, workdir=tmp_path / "out")
    assert "too large to send even after re-encoding" in message and "at most 3 KiB" in message
    assert list((tmp_path / "out").iterdir()) == []  # the attempts that did not fit are removed


def test_audio_only_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for index in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, index * 1024, Fraction(1, 44100)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    message = video_rejected(path, field="Reference performance video", rule=REFERENCE, workdir=tmp_path)
    assert "no picture, only sound" in message and "MP4, MOV or WebM" in message


def test_corrupt_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    message = video_rejected(path, workdir=tmp_path)
    assert "not a video that can be read" in message and "MP4, MOV or WebM" in message


def test_empty_and_missing_files_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert "empty (0 bytes)" in video_rejected(empty, workdir=tmp_path)
    assert "could not be read" in video_rejected(tmp_path / "missing.mp4", workdir=tmp_path)


def test_container_without_frames_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nothing.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    assert path.stat().st_size > 0
    message = video_rejected(path, workdir=tmp_path)
    assert "no frames" in message and "at least one frame" in message


def test_raw_h264_without_timestamps_has_no_length(tmp_path: Path) -> None:
    """A bare H.264 stream has no timestamps and cannot seek: refused with a message, not an unexplained crash."""
    clip = make_video(tmp_path / "clip.h264", 2)
    message = video_rejected(clip, workdir=tmp_path)
    assert "no length" in message


def test_rotation_metadata_is_applied_when_reencoding(tmp_path: Path) -> None:
    """A phone clip stored landscape with a 90-degree display matrix comes out portrait and upright."""
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _ in range(28):
            pixels = np.array(halves(96, 64, (255, 0, 0), (0, 0, 255)))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 4 + 8 + 4 + 4 + 4 + 8 + 8  # version 0 tkhd: the 3x3 display matrix
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))

    assert (probe_video(path, field="Input video").width, probe_video(path, field="Input video").height) == (64, 96)
    prepared = prepare_video(path, field="Input video", rule=ALEPH, limits=LIMITS, workdir=tmp_path)
    assert (prepared.info.width, prepared.info.height) == (64, 96)
    assert prepared.path is not None
    with av.open(str(prepared.path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape[:2] == (96, 64)
    assert close(tuple(frame[10, 32]), (255, 0, 0), 60)  # the stored left half is on top
    assert close(tuple(frame[86, 32]), (0, 0, 255), 60)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_poster_is_the_first_frame_and_last_frame_the_last(tmp_path: Path, name: str) -> None:
    """A WebM's length is in its container, not its stream: the poster must still come from its start."""
    clip = make_video(tmp_path / name, 2, codec="libvpx-vp9" if name.endswith(".webm") else "libx264")
    first = Image.open(save_frame(clip, tmp_path / "poster.png", at=0.0)).convert("L").getpixel((32, 32))
    last = Image.open(save_frame(clip, tmp_path / "last.png")).convert("L").getpixel((32, 32))
    assert isinstance(first, int) and isinstance(last, int)
    assert first < 20 < 50 < last  # the greys run from 0 up to 63 over the clip


# --- URLs ---------------------------------------------------------------------------------------------------


def test_check_url_strips_and_accepts_https() -> None:
    assert check_url("  https://cdn.example.com/a.png \n", field="First frame", limits=LIMITS) == (
        "https://cdn.example.com/a.png"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a.png", "only https:// links are allowed"),
        ("https://127.0.0.1/a.png", "not an IP address"),
        ("   ", "no link was given"),
        ("https://example.com/" + "a" * 2100, "at most 2048"),
    ],
)
def test_check_url_rejects_with_the_reason(url: str, expected: str) -> None:
    with pytest.raises(MediaError) as caught:
        check_url(url, field="First frame", limits=LIMITS)
    assert str(caught.value).startswith("First frame: ") and expected in str(caught.value)
