"""The H.264 writer: planes in, a browser-playable MP4 out, with frame making on a worker thread beside it.

Every clip is yuv420p H.264 at :data:`FPS` in an MP4 whose ``moov`` atom comes first (``movflags=+faststart``),
written to a hidden file and renamed into place, so a half-written clip is never served. A clip may carry a
soundtrack (:mod:`.audio`), encoded alongside the frames so the muxer interleaves the two. Frames are made on a
worker thread while the main thread encodes; Pillow, numpy and swscale release the GIL, so on two cores frame
making and x264 really run side by side.
"""

from __future__ import annotations

import functools
import os
import queue
import tempfile
import threading
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
from av.container import OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from studio.simulator.render.audio import AacTrack, AudioSpec, soundtrack
from studio.simulator.render.frames import Overlay, Planes, plane_arrays

FPS = 24

CRF = "23"
PRESET = "veryfast"  # superfast/ultrafast are faster but blockier and, on grainy photos, many times larger
# x264's output depends on its thread count, so a fixed count (not "auto") keeps bytes identical across machines.
X264_THREADS = 3
# x264's AVX-512 mbtree code (mbtree_propagate_list_internal_avx512) works 8 macroblocks at a time with no mask for
# the last, partial group: when the width in macroblocks is not a multiple of 8 (a width that is not a multiple of
# 128 px: 64, 720, 832, 960, 1104, ...) it reads values past the end of the row, some from memory x264 never
# initialised, and adds them into real macroblocks. The bytes then depend on whatever the heap held, so the same
# inputs and seed could give different clips (tests/test_render.py failed about one run in fifteen). x264's AVX2
# code has no such read; only CPUs with AVX-512 are steered to it (naming a level the CPU lacks would crash x264).
AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})  # x264's AVX512 level
MUXER_OPTIONS = {"movflags": "+faststart"}  # the moov atom first: a browser plays before the download ends
_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709 share the value 1
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG

T = TypeVar("T")


def write(
    frames: Iterable[Planes],
    *,
    size: tuple[int, int],
    dest: Path,
    overlays: list[Overlay],
    audio: AudioSpec | None = None,
    rate: Fraction = Fraction(FPS),
) -> Path:
    """Encode ``frames`` (made on a worker thread) with ``overlays`` on each, to ``dest``, and ``audio``'s
    soundtrack beside them when it is given (the caller makes it as long as the frames). ``rate``: frames per
    second (the finishing passes keep or change their input's; everything else is made at :data:`FPS`)."""
    video_frames = (_video_frame(planes, size, overlays, index, rate) for index, planes in enumerate(frames))
    return _encode(prefetch(video_frames), size=size, dest=Path(dest), audio=audio, rate=rate)


def _video_frame(
    planes: Planes, size: tuple[int, int], overlays: list[Overlay], index: int, rate: Fraction = Fraction(FPS)
) -> VideoFrame:
    """A yuv420p frame holding ``planes`` with ``overlays`` blended on, stamped as frame ``index``."""
    frame = VideoFrame(size[0], size[1], "yuv420p")
    views = plane_arrays(frame)
    for view, plane in zip(views, planes):
        view[...] = np.asarray(plane)
    for overlay in overlays:
        overlay.apply(views)
    frame.pts, frame.time_base = index, 1 / rate
    return frame


@functools.cache
def x264_cpu_options() -> dict[str, str]:
    """``{"x264-params": "asm=AVX2"}`` on a CPU with AVX-512 (see :data:`AVX512_FLAGS`), else nothing."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return {"x264-params": "asm=AVX2"} if AVX512_FLAGS.issubset(flags) else {}


def h264_stream(container: OutputContainer, size: tuple[int, int], rate: int | Fraction = FPS) -> VideoStream:
    """An H.264 yuv420p stream at ``rate`` (:data:`FPS` unless told) with the studio's x264 settings, tagged BT.709
    limited range (what the planes hold)."""
    stream = container.add_stream("libx264", rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": CRF, "preset": PRESET, **x264_cpu_options()}
    codec = stream.codec_context
    codec.thread_count = X264_THREADS
    codec.colorspace = codec.color_primaries = codec.color_trc = _BT709
    codec.color_range = _LIMITED_RANGE
    return stream


def _encode(
    frames: Iterable[VideoFrame],
    *,
    size: tuple[int, int],
    dest: Path,
    audio: AudioSpec | None,
    rate: Fraction = Fraction(FPS),
) -> Path:
    """Encode ``frames`` to a hidden file beside ``dest``, then rename it: a half-written clip is never served."""
    with hidden_output(dest) as part, open_mp4(part) as container:
        stream = h264_stream(container, size, rate)
        track = AacTrack(container, soundtrack(audio)) if audio is not None else None
        for index, frame in enumerate(frames, start=1):
            container.mux(stream.encode(frame))
            if track is not None:
                container.mux(track.until(float(index / rate)))  # the sound up to the end of this frame
        container.mux(stream.encode(None))
        if track is not None:
            container.mux(track.finish())
    return dest


def open_mp4(path: Path) -> OutputContainer:
    """``path`` opened for writing as an MP4 whose ``moov`` atom comes first (:data:`MUXER_OPTIONS`)."""
    return av.open(os.fspath(path), "w", format="mp4", container_options=MUXER_OPTIONS)


@contextmanager
def hidden_output(dest: Path) -> Iterator[Path]:
    """A hidden temporary file beside ``dest`` to write to; renamed onto ``dest`` when the block ends normally,
    deleted when it raises. Whoever reads ``dest`` sees the old file or the whole new one, never half of one."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".part.mp4", dir=dest.parent)
    os.close(handle)
    part = Path(name)
    try:
        yield part
        os.chmod(part, 0o644)  # mkstemp makes it owner-only; a served clip should read like any other file
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


# --- running frame making beside the encoder -------------------------------------------------------------------

_DONE = object()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def prefetch(items: Iterator[T], depth: int = 6) -> Generator[T, None, None]:
    """``items`` made on a worker thread up to ``depth`` ahead; its errors are raised here, in order."""
    box: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(items, box, stop), name="render-frames", daemon=True)
    worker.start()
    try:
        while (item := box.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


def _produce(items: Iterator[T], box: queue.Queue, stop: threading.Event) -> None:
    """Feed ``items`` into ``box`` until they end, fail or the consumer stops listening."""
    try:
        for item in items:
            if not _put(box, item, stop):
                return
        _put(box, _DONE, stop)
    except Exception as error:
        _put(box, _Failure(error), stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # on this thread, which is the one running the generator


def _put(box: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` into ``box``, giving up (False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            box.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
