"""Time the storyboard export (studio.media.stitch): a 10-shot, 60 s, 1280x720 storyboard against its length.

Usage, from the repository root::

    python bench/export.py [--repeat 3] [--keep-clips DIR]

First, untimed, it makes the ten 6 s shots: nine with the simulator's renderer (a camera move over a photo-like
picture, grainy enough that x264 works as on real footage), 24 fps, 1280x720; shots 2 and 6 carry sound, shot 8 is
960x960 (cropped to fit) and shot 4 is a 30 fps pan made with PyAV (conformed to 24 fps). Shots 1, 3, 5 and 7
crossfade into the next over 12 frames. ``--keep-clips DIR`` keeps the shots there and reuses them next time.

Then it times ``stitch`` ``--repeat`` times (no warm-up: an export runs once) and prints the median and minimum
wall time, the median CPU time of all threads, the ratio wall / video length against the goal (under 1.5), the
machine, the load average and the command.
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

from studio.media.stitch import ShotCut, expected_seconds, stitch
from studio.simulator import render
from studio.simulator.render import encoder

GOAL = 1.5  # wall time / video length
SECONDS = 6
SIZE = (1280, 720)
SHOTS = 10
WITH_SOUND = (1, 5)  # shot indices (0-based)
SQUARE = 7
FAST = 3  # 30 fps
CROSSFADES = {0: 12, 2: 12, 4: 12, 6: 12}  # shot index: frames into the next


def make_shots(folder: Path) -> list[ShotCut]:
    """The ten shots, rendered into ``folder`` unless they are there already."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for index in range(SHOTS):
        path = folder / f"shot{index + 1}.mp4"
        if not path.exists():
            picture = photo_like_image(seed=index)
            if index == FAST:
                panning_video(picture, SIZE, SECONDS, 30, path)
            else:
                size = (960, 960) if index == SQUARE else SIZE
                audio = index in WITH_SOUND
                render.render_image_to_video(
                    first=picture, last=None, size=size, seconds=SECONDS, seed=index, dest=path, audio=audio
                )
        shots.append(ShotCut(path, f"Shot {index + 1}", crossfade_frames=CROSSFADES.get(index, 0)))
    return shots


def panning_video(image: Image.Image, size: tuple[int, int], seconds: int, fps: int, dest: Path) -> Path:
    """A ``seconds`` long H.264 clip of ``size`` at ``fps`` panning across ``image``."""
    canvas = image.resize((size[0] * 5 // 4, size[1] * 5 // 4), Image.Resampling.BICUBIC)
    with av.open(str(dest), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for index in range(seconds * fps):
            x = round((canvas.width - size[0]) * index / (seconds * fps))
            view = canvas.crop((x, 0, x + size[0], size[1]))
            container.mux(stream.encode(av.VideoFrame.from_image(view)))
        container.mux(stream.encode(None))
    return dest


def command(args: argparse.Namespace) -> str:
    keep = f" --keep-clips {args.keep_clips}" if args.keep_clips else ""
    return f"python bench/export.py --repeat {args.repeat}{keep}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed exports (default 3)")
    parser.add_argument("--keep-clips", type=Path, default=None, help="make the shots here once and reuse them")
    args = parser.parse_args(argv)
    print("studio.media.stitch: 10 shots of 6 s, 1280x720 24 fps (one 30 fps, one 960x960), 2 with sound, 4 crossfades")
    cpu = platform.processor() or platform.machine()
    print(f"machine: {machine('av', 'numpy')}, {cpu}, FFmpeg {av.ffmpeg_version_info}")
    print(f"encoder: libx264 preset={encoder.PRESET} crf={encoder.CRF} threads={encoder.X264_THREADS}")
    print(f"command: {command(args)}   (from the repository root)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep_clips or Path(scratch) / "shots"
        shots = make_shots(folder)
        length = expected_seconds(shots)
        dest = Path(scratch) / "export.mp4"
        print(f"load average before: {load()}   (other work on the machine slows the figures down)")
        walls, cpus, result = timed(lambda: stitch(shots, dest), max(1, args.repeat), warm_up=False)
        print(f"load average after: {load()}")
    median = statistics.median(walls)
    ratio = median / result.duration_s
    print(
        f"export: {result.width}x{result.height} {result.fps} fps, {result.frames} frames, "
        f"{result.duration_s:.2f} s (expected {length:.2f} s), sound {result.has_audio}"
    )
    print(
        f"wall s: median {median:.2f}, min {min(walls):.2f}, max {max(walls):.2f} (n={len(walls)}); "
        f"cpu s (all threads) median {statistics.median(cpus):.2f}"
    )
    verdict = "MET" if ratio < GOAL else "NOT MET"
    print(f"wall / duration = {ratio:.2f} (goal < {GOAL}): GOAL {verdict}")


if __name__ == "__main__":
    main()
