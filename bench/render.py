"""Time the simulator's image_to_video render: how long a visitor waits for a 5 s or 10 s clip.

Usage, from the repository root::

    python bench/render.py [--repeat 5] [--all-ratios] [--other-renders]

Renders a photo-like 1920x1080 test image (smooth shapes plus film grain, which x264 finds harder than flat
colour) at 1280x720 for 5 s and 10 s, or at every Gen-4 ratio with ``--all-ratios``. ``--other-renders`` adds
a second table: text_to_video and image_to_video with and without sound, and aleph2's video_to_video of 20 s
inputs (the photo panning, encoded untimed first) at 640x360 and 1920x1080, as they are and letterboxed to 9:16.

One untimed warm-up render comes first; then each case runs ``--repeat`` times and the median and minimum
wall-clock times are printed, with the frames per second that gives, the median CPU time of all threads (wall well
above cpu/2 on two cores means other work was competing), the clip's size, the machine and the command to
reproduce the figures.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import av
from harness.images import photo_like_image
from harness.machine import load, machine
from harness.stats import timed
from PIL import Image

from studio.capabilities import GEN4_RATIOS, ratio_size
from studio.simulator import render
from studio.simulator.render import encoder

DURATIONS = (5, 10)


def time_case(image: Image.Image, size: tuple[int, int], seconds: int, repeat: int, folder: Path) -> dict:
    """Render one case ``repeat`` times: wall-clock and CPU (all threads) times, and the clip's size in bytes."""
    dest = folder / f"{size[0]}x{size[1]}_{seconds}s.mp4"

    def once() -> None:
        render.render_image_to_video(first=image, last=None, size=size, seconds=seconds, seed=1, dest=dest)

    times, cpu, _ = timed(once, repeat, warm_up=False)
    return {"times": times, "cpu": cpu, "bytes": dest.stat().st_size, "frames": round(seconds * render.FPS)}


def panning_video(image: Image.Image, size: tuple[int, int], seconds: int, dest: Path) -> Path:
    """A ``seconds`` long 30 fps H.264 clip of ``size`` panning across ``image`` (a stand-in for a visitor's video)."""
    canvas = image.resize((size[0] * 5 // 4, size[1] * 5 // 4), Image.Resampling.BICUBIC)
    with av.open(str(dest), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for index in range(seconds * 30):
            x = round((canvas.width - size[0]) * index / (seconds * 30))
            view = canvas.crop((x, 0, x + size[0], size[1]))
            container.mux(stream.encode(av.VideoFrame.from_image(view)))
        container.mux(stream.encode(None))
    return dest


def other_cases(image: Image.Image, folder: Path) -> list[tuple[str, int, Callable[[Path], Path]]]:
    """(label, frames, render to a path) for the other renders: text_to_video, sound, aleph2's video_to_video."""
    prompt = "A lighthouse on a cliff at dusk, waves crashing below, seagulls circling in the golden light"
    inputs = {side: panning_video(image, size, 20, folder / f"in{side}.mp4") for side, size in _INPUTS.items()}
    cases: list[tuple[str, int, Callable[[Path], Path]]] = []
    for audio in (False, True):
        sound = " +audio" if audio else ""
        cases.append((f"t2v 5 s 1280x720{sound}", 120, _text(prompt, audio)))
        cases.append((f"i2v 5 s 1280x720{sound}", 120, _image(image, audio)))
    for side, video in inputs.items():
        for aspect in (None, (9, 16)):
            label = f"aleph2 20 s {side}p" + (" 9:16" if aspect else "")
            cases.append((label, 480, _aleph(video, aspect)))
    return cases


_INPUTS = {360: (640, 360), 1080: (1920, 1080)}


def _text(prompt: str, audio: bool) -> Callable[[Path], Path]:
    return lambda dest: render.render_text_to_video(
        prompt=prompt, size=(1280, 720), seconds=5, seed=1, dest=dest, audio=audio
    )


def _image(image: Image.Image, audio: bool) -> Callable[[Path], Path]:
    return lambda dest: render.render_image_to_video(
        first=image, last=None, size=(1280, 720), seconds=5, seed=1, dest=dest, audio=audio
    )


def _aleph(video: Path, aspect: tuple[int, int] | None) -> Callable[[Path], Path]:
    return lambda dest: render.render_video_to_video(
        video=video, size=None, max_seconds=math.inf, seed=1, dest=dest, target_aspect=aspect
    )


def print_other_renders(image: Image.Image, repeat: int, folder: Path) -> None:
    print(f"{'other renders':<26}{'frames':>7}{'median s':>10}{'min s':>8}{'fps (median)':>14}{'cpu s':>7}{'size':>11}")
    dest = folder / "other.mp4"
    for label, frames, make in other_cases(image, folder):
        times, cpu, _ = timed(lambda make=make: make(dest), repeat, warm_up=False)
        median = statistics.median(times)
        print(
            f"{label:<26}{frames:>7}{median:>10.2f}{min(times):>8.2f}{frames / median:>14.1f}"
            f"{statistics.median(cpu):>7.2f}{dest.stat().st_size / 1024:>7.0f} KiB"
        )


def cases(all_ratios: bool) -> list[tuple[tuple[int, int], int]]:
    ratios = GEN4_RATIOS if all_ratios else ("1280:720",)
    return [(ratio_size(ratio), seconds) for ratio in ratios for seconds in DURATIONS]


def command(args: argparse.Namespace) -> str:
    flags = (" --all-ratios" if args.all_ratios else "") + (" --other-renders" if args.other_renders else "")
    return f"python bench/render.py --repeat {args.repeat}{flags}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed renders per case (default 5)")
    parser.add_argument("--all-ratios", action="store_true", help="every Gen-4 ratio, not only 1280:720")
    parser.add_argument(
        "--other-renders", action="store_true", help="also text_to_video, sound and aleph2's video_to_video"
    )
    args = parser.parse_args(argv)
    image = photo_like_image()
    print("render_image_to_video, 1920x1080 photo-like source, no last frame, no caption")
    cpu = platform.processor() or platform.machine()
    print(f"machine: {machine('av', 'numpy', 'pillow')}, {cpu}, FFmpeg {av.ffmpeg_version_info}")
    print(f"load average before: {load()}   (other work on the machine slows the figures down)")
    print(
        f"encoder: libx264 preset={encoder.PRESET} crf={encoder.CRF} threads={encoder.X264_THREADS}, {render.FPS} fps"
    )
    print(f"command: {command(args)}   (from the repository root)")
    print(f"{'case':<18}{'frames':>7}{'median s':>10}{'min s':>8}{'fps (median)':>14}{'cpu s':>7}{'size':>11}")
    with tempfile.TemporaryDirectory() as folder:
        time_case(image, (1280, 720), 1, 1, Path(folder))  # warm-up: imports, font loading, first allocations
        for size, seconds in cases(args.all_ratios):
            result = time_case(image, size, seconds, max(1, args.repeat), Path(folder))
            median = statistics.median(result["times"])
            label = f"{seconds} s {size[0]}x{size[1]}"
            print(
                f"{label:<18}{result['frames']:>7}{median:>10.2f}{min(result['times']):>8.2f}"
                f"{result['frames'] / median:>14.1f}{statistics.median(result['cpu']):>7.2f}"
                f"{result['bytes'] / 1024:>7.0f} KiB"
            )
        if args.other_renders:
            print_other_renders(image, max(1, args.repeat), Path(folder))
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
