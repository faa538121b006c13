"""The input videos a render reads: opened, measured, and sampled at each output frame's time.

Which track holds the picture and how long it lasts come from the studio's one video reader,
:mod:`studio.media.videos` (``picture_stream``, ``length_seconds``), so the simulator measures a clip exactly as
the studio's own checks do. Problems are ValueErrors with a plain message naming the file: the engine shows them
as the task's failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from studio.media import videos


def open_video(video: Path) -> tuple[InputContainer, VideoStream]:
    """``video`` opened for decoding (threaded) and its picture track; ValueError if it cannot be read or has no
    video stream. The caller closes the container."""
    name = Path(video).name
    try:
        container = av.open(str(video))
    except av.FFmpegError as error:
        raise ValueError(f"{name} could not be read as a video ({error}).") from error
    stream = videos.picture_stream(container)
    if stream is None:
        container.close()
        raise ValueError(f"{name} has no video stream, so there is nothing to render from it.")
    stream.thread_type = "AUTO"
    return container, stream


def video_seconds(video: Path) -> float:
    """How long ``video``'s picture lasts: from its header or, failing that, measured by decoding its frames."""
    container, stream = open_video(video)
    with container:
        seconds = videos.length_seconds(container, stream)
    if seconds <= 0:
        raise ValueError(f"{Path(video).name} has no timed video frames.")
    return seconds


def video_size(video: Path) -> tuple[int, int]:
    """The width and height of ``video``'s first decoded frame: the picture a render scales from."""
    container, stream = open_video(video)
    with container:
        first = next(container.decode(stream), None)
    if first is None:
        raise ValueError(f"{Path(video).name} has no decodable video frames.")
    return first.width, first.height


class _VideoCursor:
    """Walks forward through a video's frames, answering "which frame is showing at time t?"."""

    def __init__(self, video: Path) -> None:
        self._container, stream = open_video(video)
        self._frames = self._container.decode(stream)
        first = next(self._frames, None)
        if first is None:
            self.close()
            raise ValueError(f"{Path(video).name} has no decodable video frames.")
        self._current: VideoFrame = first
        self._next = next(self._frames, None)
        self._origin = first.time or 0.0
        self.time = 0.0

    def at(self, time: float) -> VideoFrame:
        """The frame showing at ``time`` seconds after the first frame; never earlier than the last call."""
        self.time = time
        while self._next is not None and (self._next.time or 0.0) - self._origin <= time + 1e-6:
            self._current, self._next = self._next, next(self._frames, None)
        return self._current

    def close(self) -> None:
        self._container.close()


def frames_at(video: Path, times: Iterable[float]) -> Iterator[VideoFrame]:
    """The frame of ``video`` showing at each of ``times``; a time earlier than the one before restarts it."""
    cursor: _VideoCursor | None = None
    try:
        for time in times:
            if cursor is None or time < cursor.time:
                if cursor is not None:
                    cursor.close()
                cursor = _VideoCursor(video)
            yield cursor.at(time)
    finally:
        if cursor is not None:
            cursor.close()
