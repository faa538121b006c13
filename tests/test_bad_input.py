"""Bad input, as a visitor (or a script) would give it, driven through the launched studio's API.

For every case the visitor must see a "Not sent" panel (``data-phase="invalid"``) whose text names the field and
says what is allowed, no task may be created on the simulator, and the server must keep serving. The three
awkward-but-valid images (CMYK, 16-bit, EXIF-rotated) must instead produce a correct clip. What the API cannot
reach with the default limits (an image or video too large to fit, the openai-hk notify hook without a key) is
covered at the service level with ``studio.forms.prepare_blocking``. Every fixture is built here, in tmp_path.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.capabilities import OPENAI_HK, SIMULATOR, InputLimits
from studio.errors import InvalidInput
from studio.forms import Form, MediaInput, prepare_blocking
from studio.simulator.config import SimulatorConfig
from tests.appclient import args_for, latest, phases
from tests.conftest import LaunchedStudio, serve
from tests.images import encoded, halves, noise, png_header_only
from tests.rigs import SimulatedStudio, paper_boats
from tests.videos import write_video

pytestmark = pytest.mark.app

I2V, V2V, CP = "/generate_image_to_video", "/generate_video_to_video", "/generate_character_performance"
FORMATS = "JPEG, PNG or WebP"
VIDEO_FORMATS = "MP4, MOV or WebM"


# --- fixtures built in code ------------------------------------------------------------------------------------


def write(tmp: Path, name: str, data: bytes | str) -> str:
    path = tmp / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def upload(tmp: Path, name: str, data: bytes | str) -> Any:
    return handle_file(write(tmp, name, data))


def good_image(tmp: Path, name: str = "good.png") -> str:
    return write(tmp, name, encoded(halves(640, 360, (200, 120, 40), (40, 120, 200)), "PNG"))


def video(tmp: Path, name: str, seconds: float) -> Any:
    """A 64x64 grey-ramp H.264 MP4 of ``seconds`` at 4 fps, as an upload."""
    return handle_file(write_video(tmp / name, seconds, size=(64, 64), fps=4))


def audio_only(tmp: Path, name: str) -> Any:
    path = tmp / name
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for index in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, index * 1024, Fraction(1, 44100)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return handle_file(str(path))


def subtitles_only(tmp: Path, name: str) -> Any:
    """An MP4 holding one subtitle track and nothing else: no picture, no sound."""
    path = tmp / name
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mov_text")
        stream.codec_context.subtitle_header = b"[Script Info]\n"  # the encoder will not open without one
        container.start_encoding()
        packet = av.Packet(b"\x00\x05hello")
        packet.stream, packet.pts, packet.dts, packet.duration = stream, 0, 0, 1000
        packet.time_base = Fraction(1, 1000)
        container.mux(packet)
    return handle_file(str(path))


def frameless(tmp: Path, name: str) -> Any:
    """An MP4 with a video track header and not a single frame (a recording stopped at once)."""
    path = tmp / name
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    return handle_file(str(path))


def random_bytes(tmp: Path, name: str, size: int = 20_000) -> Any:
    return upload(tmp, name, np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8).tobytes())


def truncated(fmt: str) -> bytes:
    whole = encoded(noise(256, 256), fmt)
    return whole[: len(whole) // 2]


# --- driving the app ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(launched: LaunchedStudio) -> Client:
    return Client(launched.url, verbose=False)


def base_fields(api: str, tmp: Path) -> dict[str, Any]:
    """A valid form for each tab; each case changes only what it is about."""
    if api == I2V:
        return {
            "first_frame": handle_file(good_image(tmp)),
            "model": "gen4_turbo",
            "ratio": "1280:720",
            "duration": "5",
        }
    if api == V2V:
        return {"input_video": video(tmp, "input.mp4", 2), "prompt": "Repaint it as a watercolour", "ratio": "1280:720"}
    return {
        "character_as": "image",
        "character_image": handle_file(good_image(tmp, "character.png")),
        "reference_performance_video": video(tmp, "performance.mp4", 4),
        "ratio": "960:960",
    }


def run(client: Client, api: str, **by_label: Any) -> list[Any]:
    job = client.submit(*args_for(client, api, **by_label), api_name=api)
    return list(job)


def panel_text(status_html: str) -> str:
    """The status panel as the visitor reads it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", status_html)).split())


def still_serves(launched: LaunchedStudio) -> None:
    assert httpx.get(launched.url, timeout=30).status_code == 200


@dataclass(frozen=True)
class Bad:
    """One bad input: the tab, what to change in its valid form, the field named and what must be said allowed."""

    id: str
    api: str
    changes: Callable[[Path], dict[str, Any]]
    field: str
    says: tuple[str, ...]
    bug: str = ""  # a studio bug this case shows: the case is expected to fail (strict xfail) until it is fixed

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.bug)] if self.bug else []
        return pytest.param(self, id=self.id, marks=marks)


def _link(field: str, url: str, *, upload_key: str | None = None) -> Callable[[Path], dict[str, Any]]:
    def changes(_tmp: Path) -> dict[str, Any]:
        return {field: url} | ({upload_key: None} if upload_key else {})

    return changes


LONG_URL = "https://cdn.example.com/" + "a" * (3000 - len("https://cdn.example.com/") - 4) + ".png"
EMOJI_PROMPT = "🎬" * 500 + "x"  # 1001 UTF-16 code units

CASES: list[Bad] = [
    # --- Image to Video: uploads -------------------------------------------------------------------------------
    Bad(
        "i2v-empty-file",
        I2V,
        lambda t: {"first_frame": upload(t, "empty.png", b"")},
        "First frame",
        ("empty (0 bytes)", FORMATS),
    ),
    Bad(
        "i2v-truncated-png",
        I2V,
        lambda t: {"first_frame": upload(t, "cut.png", truncated("PNG"))},
        "First frame",
        ("damaged or incomplete", "Export it again"),
    ),
    Bad(
        "i2v-truncated-jpeg",
        I2V,
        lambda t: {"first_frame": upload(t, "cut.jpg", truncated("JPEG"))},
        "First frame",
        ("damaged or incomplete", "Export it again"),
    ),
    Bad(
        "i2v-text-renamed-png",
        I2V,
        lambda t: {"first_frame": upload(t, "notes.png", "meeting notes, not a picture\n" * 20)},
        "First frame",
        ("not an image", FORMATS),
    ),
    Bad(
        "i2v-gif",
        I2V,
        lambda t: {"first_frame": upload(t, "anim.gif", encoded(Image.new("RGB", (64, 64), "red"), "GIF"))},
        "First frame",
        ("GIF images are not accepted", FORMATS),
    ),
    Bad(
        "i2v-svg",
        I2V,
        lambda t: {
            "first_frame": upload(
                t,
                "logo.svg",
                '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
            )
        },
        "First frame",
        ("SVG images are not accepted", FORMATS),
    ),
    Bad(
        "i2v-heic",
        I2V,
        lambda t: {
            "first_frame": upload(t, "photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
        },
        "First frame",
        ("HEIC images are not accepted", FORMATS),
    ),
    Bad(
        "i2v-bmp",
        I2V,
        lambda t: {"first_frame": upload(t, "paint.bmp", encoded(Image.new("RGB", (64, 64), "red"), "BMP"))},
        "First frame",
        ("BMP images are not accepted", FORMATS),
    ),
    Bad(
        "i2v-decompression-bomb",
        I2V,
        lambda t: {"first_frame": upload(t, "bomb.png", png_header_only(30_000, 30_000))},
        "First frame",
        ("too large to process", "100 megapixels", "sides up to 31996 px"),
    ),
    Bad(
        "i2v-1x1-png",
        I2V,
        lambda t: {"first_frame": upload(t, "dot.png", encoded(Image.new("RGB", (1, 1), "red"), "PNG"))},
        "First frame",
        ("1x1 px", "at least 180 px on its short side after fitting to 1280:720", "Nothing was sent"),
    ),
    Bad(
        "i2v-8000x10-crop",
        I2V,
        lambda t: {
            "first_frame": upload(t, "strip.png", encoded(Image.new("RGB", (8000, 10), "green"), "PNG")),
            "fit_the_image": "crop",
        },
        "First frame",
        ("8000x10 px", 'fit "crop"', "enlarged 72x", "at least 180 px on its short side"),
    ),
    Bad(
        "i2v-as-is-aspect-3to1",
        I2V,
        lambda t: {
            "first_frame": upload(t, "wide.png", encoded(Image.new("RGB", (900, 300), "green"), "PNG")),
            "fit_the_image": "as-is",
        },
        "First frame",
        ("aspect 3.00", "between 0.5 and 2", "Choose crop or pad"),
    ),
    Bad(
        "i2v-last-frame-gif-on-gen3a",
        I2V,
        lambda t: {
            "model": "gen3a_turbo",
            "ratio": "1280:768",
            "prompt": "Dawn to dusk",
            "last_frame": upload(t, "last.gif", encoded(Image.new("RGB", (64, 64), "blue"), "GIF")),
        },
        "Last frame",
        ("GIF images are not accepted", FORMATS),
    ),
    Bad("i2v-no-first-frame", I2V, lambda t: {"first_frame": None}, "First frame", ("is required", "https")),
    # --- Image to Video: links ---------------------------------------------------------------------------------
    Bad(
        "i2v-link-http",
        I2V,
        _link("first_frame_link", "http://example.com/a.png", upload_key="first_frame"),
        "First frame",
        ("only https:// links are allowed", "http:"),
    ),
    Bad(
        "i2v-link-file",
        I2V,
        _link("first_frame_link", "file:///etc/passwd", upload_key="first_frame"),
        "First frame",
        ("only https:// links are allowed", "file:"),
    ),
    Bad(
        "i2v-link-javascript",
        I2V,
        _link("first_frame_link", "javascript:alert(1)", upload_key="first_frame"),
        "First frame",
        ("only https:// links are allowed", "javascript:"),
    ),
    Bad(
        "i2v-link-data-text",
        I2V,
        _link("first_frame_link", "data:text/plain;base64,aGVsbG8=", upload_key="first_frame"),
        "First frame",
        ("https://",),
    ),
    Bad(
        "i2v-link-data-image",
        I2V,
        _link("first_frame_link", "data:image/png;base64,iVBORw0KGgo=", upload_key="first_frame"),
        "First frame",
        ("only https:// links are allowed", "data:"),
    ),
    Bad(
        "i2v-link-ip-host",
        I2V,
        _link("first_frame_link", "https://127.0.0.1/x.png", upload_key="first_frame"),
        "First frame",
        ("must name a domain, not an IP address",),
    ),
    Bad(
        "i2v-link-3000-chars",
        I2V,
        _link("first_frame_link", LONG_URL, upload_key="first_frame"),
        "First frame",
        ("3000 characters long", "at most 2048"),
    ),
    Bad(
        "i2v-last-link-on-gen3a-http",
        I2V,
        lambda t: {
            "model": "gen3a_turbo",
            "ratio": "1280:768",
            "prompt": "Dawn to dusk",
            "last_frame_link": "http://example.com/b.png",
        },
        "Last frame",
        ("only https:// links are allowed",),
    ),
    # --- Image to Video: the other controls --------------------------------------------------------------------
    Bad(
        "i2v-prompt-1001-utf16-emoji",
        I2V,
        lambda t: {"prompt": EMOJI_PROMPT},
        "Prompt",
        ("1001 characters", "emoji count as 2", "at most 1000"),
    ),
    Bad(
        "i2v-prompt-control-char",
        I2V,
        lambda t: {"prompt": "a bell \x07 rings"},
        "Prompt",
        ("control character", "U+0007", "Remove them"),
    ),
    Bad(
        "i2v-prompt-spaces-gen3a",
        I2V,
        lambda t: {"model": "gen3a_turbo", "ratio": "1280:768", "prompt": "   \n\t "},
        "Prompt",
        ("only spaces", "Write a prompt"),
    ),
    Bad("i2v-prompt-spaces-gen4", I2V, lambda t: {"prompt": "     "}, "Prompt", ("only spaces", "leave it empty")),
    Bad(
        "i2v-prompt-missing-gen3a",
        I2V,
        lambda t: {"model": "gen3a_turbo", "ratio": "1280:768", "prompt": ""},
        "Prompt",
        ("required for gen3a_turbo",),
    ),
    Bad(
        "i2v-seed-minus-1",
        I2V,
        lambda t: {"random_seed": False, "seed": -1},
        "Seed",
        ("Seed -1 is out of range", "from 0 to 4294967295"),
    ),
    Bad(
        "i2v-seed-2**32",
        I2V,
        lambda t: {"random_seed": False, "seed": 4294967296},
        "Seed",
        ("Seed 4294967296 is out of range", "from 0 to 4294967295"),
    ),
    Bad(
        "i2v-seed-empty",
        I2V,
        lambda t: {"random_seed": False, "seed": None},
        "Seed",
        ("Seed is empty", "whole number", "Random seed"),
    ),
    Bad(
        "i2v-seed-text",
        I2V,
        lambda t: {"random_seed": False, "seed": "abc"},
        "Seed",
        ("whole number",),
    ),
    Bad(
        "i2v-duration-7",
        I2V,
        lambda t: {"duration": "7"},
        "Duration",
        ("Duration 7 s is not available", "5, 10 seconds"),
    ),
    Bad("i2v-duration-text", I2V, lambda t: {"duration": "five"}, "Duration", ("must be a whole number", "five")),
    Bad(
        "i2v-ratio-of-gen3a-on-gen4",
        I2V,
        lambda t: {"ratio": "1280:768"},
        "Ratio",
        ("Ratio 1280:768 is not available for gen4_turbo", "1280:720, 720:1280"),
    ),
    Bad(
        "i2v-last-frame-on-gen4",
        I2V,
        lambda t: {"last_frame": handle_file(good_image(t, "last.png"))},
        "Last frame",
        ("supported by gen3a_turbo only",),
    ),
    Bad(
        "i2v-fit-unknown",
        I2V,
        lambda t: {"fit_the_image": "stretch"},
        "Fit",
        ("crop", "pad", "as-is"),
    ),
    Bad(
        "i2v-unknown-model",
        I2V,
        lambda t: {"model": "gen5_ultra"},
        "Model",
        ("gen5_ultra is not available", "gen4_turbo, gen3a_turbo"),
    ),
    # --- Video to Video ---------------------------------------------------------------------------------------
    Bad("v2v-no-input-video", V2V, lambda t: {"input_video": None}, "Input video", ("is required", "https")),
    Bad(
        "v2v-empty-file",
        V2V,
        lambda t: {"input_video": upload(t, "empty.mp4", b"")},
        "Input video",
        ("empty (0 bytes)", VIDEO_FORMATS),
    ),
    Bad(
        "v2v-audio-only",
        V2V,
        lambda t: {"input_video": audio_only(t, "voice.m4a")},
        "Input video",
        ("no picture, only sound", VIDEO_FORMATS),
    ),
    Bad(
        "v2v-no-video-stream",
        V2V,
        lambda t: {"input_video": subtitles_only(t, "subtitles.mp4")},
        "Input video",
        ("no frames", "at least one frame"),
    ),
    Bad(
        "v2v-zero-length",
        V2V,
        lambda t: {"input_video": frameless(t, "nothing.mp4")},
        "Input video",
        ("no frames", "at least one frame"),
    ),
    Bad(
        "v2v-corrupt-mp4",
        V2V,
        lambda t: {"input_video": random_bytes(t, "broken.mp4")},
        "Input video",
        ("not a video that can be read", VIDEO_FORMATS),
    ),
    Bad(
        "v2v-image-renamed-mp4",
        V2V,
        lambda t: {"input_video": upload(t, "photo.mp4", encoded(noise(64, 64), "PNG"))},
        "Input video",
        (VIDEO_FORMATS,),
    ),
    Bad("v2v-missing-prompt", V2V, lambda t: {"prompt": ""}, "Prompt", ("required for gen4_aleph",)),
    Bad(
        "v2v-reference-gif",
        V2V,
        lambda t: {"reference_image": upload(t, "style.gif", encoded(Image.new("RGB", (64, 64), "red"), "GIF"))},
        "Reference image",
        ("GIF images are not accepted", FORMATS),
    ),
    Bad(
        "v2v-reference-link-javascript",
        V2V,
        _link("reference_image_link", "javascript:alert(1)"),
        "Reference image",
        ("only https:// links are allowed",),
    ),
    Bad(
        "v2v-video-link-http",
        V2V,
        _link("input_video_link", "http://example.com/clip.mp4", upload_key="input_video"),
        "Input video",
        ("only https:// links are allowed", "http:"),
    ),
    Bad("v2v-ratio-empty", V2V, lambda t: {"ratio": ""}, "Ratio", ("Choose one of 1280:720",)),
    Bad(
        "v2v-ratio-of-gen3a",
        V2V,
        lambda t: {"ratio": "1280:768"},
        "Ratio",
        ("not available for gen4_aleph", "848:480, 640:480"),
    ),
    # --- Character Performance ------------------------------------------------------------------------------
    Bad(
        "cp-reference-2s",
        CP,
        lambda t: {"reference_performance_video": video(t, "short.mp4", 2)},
        "Reference performance video",
        ("2.0 s long", "between 3 and 30 s"),
    ),
    Bad(
        "cp-reference-60s",
        CP,
        lambda t: {"reference_performance_video": video(t, "long.mp4", 60)},
        "Reference performance video",
        ("60.0 s long", "between 3 and 30 s"),
    ),
    Bad(
        "cp-reference-missing",
        CP,
        lambda t: {"reference_performance_video": None},
        "Reference performance video",
        ("is required", "https"),
    ),
    Bad(
        "cp-reference-text-renamed-mp4",
        CP,
        lambda t: {"reference_performance_video": upload(t, "notes.mp4", "not a video at all\n" * 50)},
        "Reference performance video",
        ("not a video that can be read", VIDEO_FORMATS),
    ),
    Bad(
        "cp-reference-link-http",
        CP,
        _link("reference_performance_link", "http://example.com/p.mp4", upload_key="reference_performance_video"),
        "Reference performance video",
        ("only https:// links are allowed",),
    ),
    Bad(
        "cp-character-image-missing",
        CP,
        lambda t: {"character_image": None},
        "Character",
        ("Character is required", "https"),
    ),
    Bad(
        "cp-character-image-truncated",
        CP,
        lambda t: {"character_image": upload(t, "face.png", truncated("PNG"))},
        "Character",
        ("damaged or incomplete",),
    ),
    Bad(
        "cp-character-video-audio-only",
        CP,
        lambda t: {"character_as": "video", "character_image": None, "character_video": audio_only(t, "voice.mp4")},
        "Character",
        ("no picture, only sound", VIDEO_FORMATS),
    ),
    Bad(
        "cp-character-video-31s",
        CP,
        lambda t: {"character_as": "video", "character_image": None, "character_video": video(t, "character.mp4", 31)},
        "Character",
        ("31.0 s long", "at most 30 s"),
    ),
    Bad(
        "cp-character-video-still-image",
        CP,
        lambda t: {
            "character_as": "video",
            "character_image": None,
            "character_video": upload(t, "face.mp4", encoded(noise(64, 64), "JPEG")),
        },
        "Character",
        (VIDEO_FORMATS,),
    ),
    Bad(
        "cp-character-link-ip",
        CP,
        _link("character_link", "https://10.0.0.1/face.png", upload_key="character_image"),
        "Character",
        ("not an IP address",),
    ),
    Bad("cp-intensity-2.5", CP, lambda t: {"expression_intensity": 2.5}, "Expression intensity", ("whole number",)),
    Bad(
        "cp-intensity-null",
        CP,
        lambda t: {"expression_intensity": None},
        "Expression intensity",
        ("1 to 5",),
    ),
    Bad(
        "cp-intensity-0",
        CP,
        lambda t: {"expression_intensity": 0},
        "Expression intensity",
        ("1 to 5",),
    ),
    Bad(
        "cp-intensity-6",
        CP,
        lambda t: {"expression_intensity": 6},
        "Expression intensity",
        ("1 to 5",),
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input_is_refused_before_sending(
    case: Bad, client: Client, launched: LaunchedStudio, tmp_path: Path
) -> None:
    fields = base_fields(case.api, tmp_path) | case.changes(tmp_path)
    before = launched.created
    try:
        outputs = run(client, case.api, **fields)
    finally:
        still_serves(launched)
        assert launched.created == before, "a task was created for input that can be refused locally"
    status = latest(outputs, 0) or ""
    text = panel_text(status)
    assert 'data-phase="invalid"' in status, text
    assert case.field in text, f"the message does not name {case.field!r}: {text}"
    for phrase in case.says:
        assert phrase in text, f"{phrase!r} missing from: {text}"


# --- valid but awkward images: they must succeed with a correct clip ----------------------------------------


def first_frame_of(path: str) -> np.ndarray:
    with av.open(path) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def close(pixel: Any, expected: tuple[int, int, int], tolerance: int = 60) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected))


def generate_ok(client: Client, launched: LaunchedStudio, **fields: Any) -> np.ndarray:
    before = launched.created
    outputs = run(client, I2V, **fields)
    assert phases(outputs)[-1][0] == "succeeded", panel_text(latest(outputs, 0) or "")
    assert launched.created == before + 1
    clip = latest(outputs, 1)
    return first_frame_of(clip)


def test_exif_rotated_photo_comes_out_upright(client: Client, launched: LaunchedStudio, tmp_path: Path) -> None:
    """Stored landscape with its left half red, EXIF orientation 6: viewed portrait with the red half on top."""
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    halves(800, 450, (255, 0, 0), (0, 0, 255)).save(path, "JPEG", exif=exif, quality=95)
    frame = generate_ok(
        client, launched, first_frame=handle_file(str(path)), ratio="720:1280", fit_the_image="crop", duration="5"
    )
    height, width = frame.shape[:2]
    assert (width, height) == (720, 1280)
    assert close(frame[height // 4, width // 2], (255, 0, 0)), frame[height // 4, width // 2]
    assert close(frame[3 * height // 4, width // 2], (0, 0, 255)), frame[3 * height // 4, width // 2]


def test_cmyk_jpeg_is_converted_and_succeeds(client: Client, launched: LaunchedStudio, tmp_path: Path) -> None:
    path = write(
        tmp_path, "print.jpg", encoded(Image.new("CMYK", (640, 360), (255, 0, 0, 0)), "JPEG", quality=95)
    )  # cyan
    frame = generate_ok(client, launched, first_frame=handle_file(path), ratio="1280:720", duration="5")
    assert frame.shape[:2] == (720, 1280)
    assert close(frame[360, 640], (0, 255, 255)), frame[360, 640]


def test_16_bit_png_is_rescaled_and_succeeds(client: Client, launched: LaunchedStudio, tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (288, 1))  # black on the left to white on the right
    source = Image.fromarray(ramp)
    assert source.mode == "I;16"
    path = write(tmp_path, "scan16.png", encoded(source, "PNG"))
    frame = generate_ok(client, launched, first_frame=handle_file(path), ratio="1280:720", duration="5")
    left, middle, right = (int(frame[360, x].mean()) for x in (160, 640, 1120))
    assert left < 90 and 80 < middle < 175 and right > 165, (left, middle, right)  # a ramp, not clipped to white


# --- gaps the API cannot reach with the default limits: the service level ------------------------------------


def http_hook_without_a_key(client: Client, tmp: Path) -> list[Any]:
    """Image to Video on openai-hk, with no key anywhere and an http:// notify hook: what the stream showed."""
    return run(
        client,
        I2V,
        provider="openai-hk",
        first_frame=handle_file(good_image(tmp)),
        ratio="1280:720",
        notify_hook="http://example.com/hook",
    )


def test_notify_hook_on_openai_hk_without_a_key_reports_the_key(
    client: Client, launched: LaunchedStudio, tmp_path: Path
) -> None:
    """What happens today: the missing key is reported and nothing is sent (the http hook is not mentioned)."""
    before = launched.created
    status = latest(http_hook_without_a_key(client, tmp_path), 0) or ""
    text = panel_text(status)
    assert 'data-phase="invalid"' in status, text
    assert "needs an API key" in text and "Settings" in text
    assert launched.created == before
    still_serves(launched)


def test_notify_hook_on_openai_hk_without_a_key_lists_both_problems(
    client: Client, launched: LaunchedStudio, tmp_path: Path
) -> None:
    text = panel_text(latest(http_hook_without_a_key(client, tmp_path), 0) or "")
    assert "needs an API key" in text
    assert "Notify hook" in text and "https://" in text


def refused(form: Any, *, provider: Any, workdir: Path) -> str:
    with pytest.raises(InvalidInput) as caught:
        prepare_blocking(form, provider=provider, workdir=workdir)
    return str(caught.value)


async def test_a_1x1_image_is_refused_by_the_service_and_nothing_is_sent(tmp_path: Path) -> None:
    """API callers and the page both go through ``Studio.submit``: the check is there, not in the page."""
    rig = SimulatedStudio(tmp_path / "data", SIMULATOR, SimulatorConfig(output_dir=tmp_path / "clips"))
    dot = write(tmp_path, "dot.png", encoded(Image.new("RGB", (1, 1), "red"), "PNG"))
    form = paper_boats(ratio="1280:720", first=MediaInput(path=dot))
    with pytest.raises(InvalidInput) as caught:
        await rig.studio.submit(form, provider="simulator", visitor="browser:tiny", visitor_key=None)
    message = str(caught.value)
    assert message.startswith("First frame: 1x1 px") and "at least 180 px on its short side" in message, message
    assert "1280:720" in message and "Nothing was sent" in message, message
    assert rig.created == 0 and rig.studio.history.unfinished() == []
    assert "1x1" in caught.value.localized("zh-CN") and "180" in caught.value.localized("zh-CN")


@pytest.mark.parametrize(
    ("size", "fit", "says"),
    [
        ((8000, 10), "crop", ("8000x10 px", 'fit "crop"', "enlarged 72x", "at least 320x180 px")),
        ((10, 8000), "pad", ("10x8000 px", 'fit "pad"', "only 1x720 px", "at least 180 px on its short side")),
        ((200, 120), "as-is", ("200x120 px", "enlarged 6x")),
    ],
)
def test_service_extreme_images_are_refused_with_their_sizes(
    tmp_path: Path, size: tuple[int, int], fit: str, says: tuple[str, ...]
) -> None:
    image = write(tmp_path, "extreme.png", encoded(Image.new("RGB", size, "green"), "PNG"))
    form = Form.of("image_to_video", model="gen4_turbo", ratio="1280:720", first=MediaInput(path=image), fit=fit)
    message = refused(form, provider=SIMULATOR, workdir=tmp_path)
    assert message.startswith("First frame: "), message
    for phrase in says:
        assert phrase in message, f"{phrase!r} missing from: {message}"


@pytest.mark.parametrize(("size", "fit"), [((320, 180), "crop"), ((640, 360), "crop"), ((200, 400), "pad")])
def test_service_small_but_usable_images_still_pass(tmp_path: Path, size: tuple[int, int], fit: str) -> None:
    """At most 4x enlargement: a 320x180 thumbnail fills 1280:720; a 200x400 portrait padded is 1.8x."""
    image = write(tmp_path, "ok.png", encoded(halves(*size, (200, 120, 40), (40, 120, 200)), "PNG"))
    form = Form.of("image_to_video", model="gen4_turbo", ratio="1280:720", first=MediaInput(path=image), fit=fit)
    prepared = prepare_blocking(form.replace(seed=1), provider=SIMULATOR, workdir=tmp_path)
    assert prepared.request.endpoint == "image_to_video"


def test_service_notify_hook_http_is_refused_on_openai_hk(tmp_path: Path) -> None:
    form = Form.of(
        "image_to_video",
        model="gen4_turbo",
        ratio="1280:720",
        first=MediaInput(path=good_image(tmp_path)),
        seed=1,
        notify_hook="http://example.com/hook",
    )
    message = refused(form, provider=OPENAI_HK, workdir=tmp_path)
    assert "Notify hook" in message and "only https:// links are allowed" in message and "http:" in message


def test_service_image_that_cannot_fit_the_byte_limit(tmp_path: Path) -> None:
    """With the default 5 MiB the studio always fits (it scales to the ratio's size, then steps down the
    quality): a 1280x720 noise image as JPEG is about 1 MiB. A tiny limit shows the message."""
    provider = replace(SIMULATOR, limits=InputLimits(image_data_uri_bytes=3_000))
    form = Form.of(
        "image_to_video",
        model="gen4_turbo",
        ratio="1280:720",
        first=MediaInput(path=write(tmp_path, "noise.png", encoded(noise(640, 360), "PNG"))),
        seed=1,
    )
    message = refused(form, provider=provider, workdir=tmp_path)
    assert message.startswith("First frame: ") and "cannot be made to fit 3 KiB" in message


def test_service_video_that_cannot_fit_the_byte_limit(tmp_path: Path) -> None:
    """16 MiB is out of reach of a quick test upload (and re-encoding shrinks most videos under it); a tiny limit
    shows the message."""
    provider = replace(SIMULATOR, limits=InputLimits(video_data_uri_bytes=3_000))
    clip = tmp_path / "noise.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 128, 128, "yuv420p"
        rng = np.random.default_rng(5)
        for _ in range(12):
            container.mux(
                stream.encode(
                    av.VideoFrame.from_ndarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), format="rgb24")
                )
            )
        container.mux(stream.encode(None))
    form = Form.of(
        "video_to_video",
        model="gen4_aleph",
        ratio="1280:720",
        video=MediaInput(path=str(clip)),
        prompt_text="Repaint",
        seed=1,
    )
    message = refused(form, provider=provider, workdir=tmp_path / "work")
    assert (
        message.startswith("Input video: ")
        and "too large to send even after re-encoding" in message
        and "at most 3 KiB" in message
    )


# --- the upload cap (STUDIO_MAX_UPLOAD_MB) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cap_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second studio launched with STUDIO_MAX_UPLOAD_MB=1."""
    env = {"STUDIO_DATA_DIR": str(tmp_path_factory.mktemp("capped")), "STUDIO_MAX_UPLOAD_MB": "1"}
    with serve(env) as launched:
        assert launched.settings.max_upload_mb == 1
        yield launched.url


def test_upload_over_the_cap_is_refused_by_gradio(small_cap_studio: str, tmp_path: Path) -> None:
    big = write(tmp_path, "big.png", encoded(noise(900, 800), "PNG"))  # about 2 MB of incompressible pixels
    assert Path(big).stat().st_size > 2_000_000
    config = httpx.get(small_cap_studio + "config", timeout=30).json()
    assert config["max_file_size"] == 1024 * 1024  # what the page's uploader checks before sending
    with open(big, "rb") as handle:
        answer = httpx.post(
            small_cap_studio + "gradio_api/upload", files={"files": ("big.png", handle, "image/png")}, timeout=30
        )
    assert answer.status_code == 413
    assert "File size exceeded maximum allowed size of 1048576 bytes" in answer.text
    with pytest.raises(Exception) as caught:  # and a gradio_client script gets the same refusal
        Client(small_cap_studio, verbose=False).predict(
            *args_for(Client(small_cap_studio, verbose=False), I2V, first_frame=handle_file(big)), api_name=I2V
        )
    assert "exceeds the maximum file size of 1048576 bytes" in str(caught.value), repr(caught.value)
    assert httpx.get(small_cap_studio, timeout=30).status_code == 200


# --- and after all that, the studio still generates ------------------------------------------------------


def test_zz_a_normal_generation_still_succeeds(client: Client, launched: LaunchedStudio, tmp_path: Path) -> None:
    frame = generate_ok(
        client,
        launched,
        first_frame=handle_file(good_image(tmp_path)),
        ratio="960:960",
        duration="5",
        prompt="A slow drift",
    )
    assert frame.shape[:2] == (960, 960)
