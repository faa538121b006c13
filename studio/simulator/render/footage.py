"""The input videos a render reads: opened, measured, and sampled at each output frame's time.

Problems are ValueErrors with a plain message naming the file: the engine shows them as the task's failure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
from av.container import InputContainer
from av.video.frame import VideoFrame


def open_video(video: Path) -> InputContainer:
    """``video`` opened for decoding (threaded); ValueError if it cannot be read or has no video stream."""
    name = Path(video).name
    try:
        container = av.open(str(video))
    except av.FFmpegError as error:
        raise ValueError(f"{name} could not be read as a video ({error}).") from error
    if not container.streams.video:
        container.close()
        raise ValueError(f"{name} has no video stream, so there is nothing to render from it.")
    container.streams.video[0].thread_type = "AUTO"
    return container


def video_seconds(video: Path) -> float:
    """How long ``video``'s video stream lasts, from its header or, failing that, from its packets."""
    with open_video(video) as container:
        stream = container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / av.time_base
        return _demuxed_seconds(container)


def _demuxed_seconds(container: InputContainer) -> float:
    """The span of the video packets' timestamps, for files whose header gives no duration."""
    stream = container.streams.video[0]
    start, end = math.inf, -math.inf
    for packet in container.demux(stream):
        if packet.pts is not None:
            start = min(start, packet.pts)
            end = max(end, packet.pts + (packet.duration or 0))
    if end <= start or stream.time_base is None:
        raise ValueError(f"{container.name} has no timed video frames.")
    return float((end - start) * stream.time_base)


class _VideoCursor:
    """Walks forward through a video's frames, answering "which frame is showing at time t?"."""

    def __init__(self, video: Path) -> None:
        self._container = open_video(video)
        self._frames = self._container.decode(video=0)
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
