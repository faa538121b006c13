"""Time the simulator's image_to_video render: how long a visitor waits for a 5 s or 10 s clip.

Usage, from the repository root::

    python bench/render.py [--repeat 5] [--all-ratios]

Renders a photo-like 1920x1080 test image (smooth shapes plus film grain, which x264 finds harder than flat
colour) at 1280x720 for 5 s and 10 s, or at every Gen-4 ratio with ``--all-ratios``. One untimed warm-up render
comes first; then each case runs ``--repeat`` times and the median and minimum wall-clock times are printed, with
the frames per second that gives, the median CPU time of all threads (wall well above cpu/2 on two cores means
other work was competing), the clip's size, the machine and the command to reproduce the figures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
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


def cases(all_ratios: bool) -> list[tuple[tuple[int, int], int]]:
    ratios = GEN4_RATIOS if all_ratios else ("1280:720",)
    return [(ratio_size(ratio), seconds) for ratio in ratios for seconds in DURATIONS]


def command(args: argparse.Namespace) -> str:
    return f"python bench/render.py --repeat {args.repeat}" + (" --all-ratios" if args.all_ratios else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed renders per case (default 5)")
    parser.add_argument("--all-ratios", action="store_true", help="every Gen-4 ratio, not only 1280:720")
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
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
