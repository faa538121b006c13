"""Videos: probe what a visitor gave, check its length, and re-encode it when it cannot be sent as it is.

This is the studio's one video reader: ``picture_stream`` picks the track to read and ``length_seconds`` says how
long it lasts, for the studio's own checks (``probe_video``, ``prepare_video``, ``save_frame``) and for the
simulator's renderer alike, so a clip's length is worked out one way everywhere.

Every limit comes from the ``InputLimits`` / ``VideoInputRule`` objects passed in (``capabilities.py``); every
rejection is a ``MediaError`` naming the caller's field label and saying what is allowed. The functions block
(PyAV): callers run them in a worker thread.

Re-encoded videos are H.264/yuv420p MP4 with faststart, without audio (the API uses the video only). A video sent
as it is keeps its audio and container type. Where the provider takes uploads (``InputLimits.uploads``), a video
too big for a data URI is uploaded as it is (a 150 MB 4K clip stays 150 MB of 4K): it is re-encoded only for what
the API cannot take (a frame rate over the model's, a length to cut, a codec or container it refuses), at its own
size. Elsewhere it is shrunk until it fits, at most ``REENCODE_MAX_SIDE`` px on the long side.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np
from av.container import InputContainer, OutputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from studio.capabilities import InputLimits, VideoInputRule
from studio.errors import MediaError
from studio.i18n import Msg
from studio.media.datauri import data_uri, data_uri_length, payload_bytes
from studio.uris import human_bytes

StrPath = str | os.PathLike[str]

REENCODE_MAX_SIDE = 1280  # the long side of a video re-encoded to fit a data URI, at most
UPLOAD_MAX_SIDE = 4096  # the long side of a video re-encoded to be uploaded (4K stays 4K)
SENDABLE_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "vp8", "vp9", "prores"})  # runway-api.md
STILL_IMAGE_CODECS = frozenset({"png", "mjpeg", "jpegls", "webp", "gif", "bmp", "tiff", "apng", "qoi"})

_VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
# (long side, x264 CRF) tried in order until the re-encoded video fits: quality first, then size.
_VIDEO_ATTEMPTS = ((REENCODE_MAX_SIDE, 23), (REENCODE_MAX_SIDE, 28), (960, 30), (720, 32), (480, 34), (360, 36))
_MAX_OUTPUT_FPS = 60


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds. ``width``/``height`` are as displayed (rotation metadata applied)."""

    duration_s: float
    width: int
    height: int
    codec: str  # canonical codec name: h264, hevc, av1, vp9, mpeg4, ...
    has_video: bool
    has_audio: bool
    size_bytes: int
    container: str = ""  # mp4, mov, webm, mkv, avi, ...
    fps: float = 0.0  # frames per second (0: unknown)


@dataclass(frozen=True)
class PreparedVideo:
    """A video ready to send: as a data URI, or (``upload``) as a file to upload first."""

    data_uri: str | None  # data:video/mp4;base64,... (video/quicktime or video/webm when sent as it was)
    info: VideoInfo  # of what is sent
    source: VideoInfo
    trimmed: bool  # only the first ``rule.use_first_seconds`` were kept
    reencoded: bool
    path: Path | None = None  # the file that was encoded (the source itself when sent as it was)
    upload: Path | None = None  # too big for a data URI: upload this file and send its runway:// URI
    rate_capped: bool = False  # converted down to the model's fastest frame rate


def probe_video(path: StrPath, *, field: str) -> VideoInfo:
    """Read a video's length, size, codec and tracks; decodes its first frame to be sure it is usable.

    Raises ``MediaError(field, ...)`` for a missing, empty, unreadable or corrupt file, a file without a video
    track (audio only), and a video with no frames or no length.
    """
    size_bytes = _file_size(path, field=field)
    with _opened_video(path, field=field) as container:
        stream = _video_stream(container, field=field)
        first = _first_frame(container, stream, field=field)
        duration = _duration(container, stream, field=field)
        width, height = _display_size(first)
        return VideoInfo(
            duration_s=duration,
            width=width,
            height=height,
            codec=stream.codec_context.codec.canonical_name,
            has_video=True,
            has_audio=bool(container.streams.audio),
            size_bytes=size_bytes,
            container=_container_kind(container, Path(path)),
            fps=float(stream.average_rate or stream.guessed_rate or 0),
        )


def _file_size(path: StrPath, *, field: str) -> int:
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise MediaError(field, Msg("media.unreadable_file", reason=str(err.strerror or err))) from err
    if size == 0:
        raise MediaError(field, Msg("media.empty_video"))
    return size


@contextmanager
def _opened_video(path: StrPath, *, field: str) -> Iterator[InputContainer]:
    try:
        container = av.open(os.fspath(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise MediaError(field, Msg("media.not_a_video")) from err
    with container:
        yield container


def picture_stream(container: InputContainer) -> VideoStream | None:
    """The first real video track: cover art in a music file is a one-picture "video" stream, skipped."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _video_stream(container: InputContainer, *, field: str) -> VideoStream:
    stream = picture_stream(container)
    if stream is not None and _is_still_image(container, stream):
        raise MediaError(field, Msg("media.still_image"))
    if stream is not None:
        return stream
    if container.streams.audio:
        raise MediaError(field, Msg("media.sound_only"))
    raise MediaError(field, Msg("media.no_frames"))


def _is_still_image(container: InputContainer, stream: VideoStream) -> bool:
    """A picture file read as a one-frame "video" (PyAV's image demuxers would let a PNG named .mp4 through)."""
    demuxer = container.format.name or ""
    return (
        demuxer.endswith("_pipe")
        or demuxer.startswith("image2")
        or (stream.codec_context.name in STILL_IMAGE_CODECS and (stream.frames or 0) <= 1)
    )


def _first_frame(container: InputContainer, stream: VideoStream, *, field: str) -> VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise MediaError(field, Msg("media.video_damaged")) from err
    raise MediaError(field, Msg("media.no_frames"))


def _duration(container: InputContainer, stream: VideoStream, *, field: str) -> float:
    """The length in seconds (``length_seconds``); MediaError when the video has none."""
    duration = length_seconds(container, stream)
    if duration <= 0:
        raise MediaError(field, Msg("media.no_length"))
    return duration


def length_seconds(container: InputContainer, stream: VideoStream) -> float:
    """The length in seconds: the stream's, else the container's, else measured by decoding every frame.

    0.0 when not even decoding finds a timed frame. The studio's checks and the simulator's renderer both ask here.
    """
    declared = header_seconds(container, stream)
    if not declared or declared <= 0:
        return _decoded_seconds(container, stream)
    return declared


def header_seconds(container: InputContainer, stream: VideoStream) -> float | None:
    """The length the file declares, without decoding: the stream's, else the container's; None when silent."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _decoded_seconds(container: InputContainer, stream: VideoStream) -> float:
    """The length measured by decoding: the last frame's end minus the first frame's start."""
    # Back to the start, as probe_video has already decoded the first frame. A stream that cannot seek (raw H.264)
    # is measured from where it is, which for a fresh reader such as the renderer's is its start.
    with contextlib.suppress(av.error.FFmpegError):
        container.seek(0)
    start = end = None
    step = 1 / float(stream.guessed_rate or 30)
    try:
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            start = frame.time if start is None else start
            end = frame.time + (float(frame.duration * frame.time_base) if frame.duration and frame.time_base else step)
    except (av.error.FFmpegError, ValueError):
        pass  # a damaged tail: the frames decoded so far give the length
    return 0.0 if start is None or end is None else end - start


def _display_size(frame: VideoFrame) -> tuple[int, int]:
    return (frame.height, frame.width) if abs(frame.rotation) == 90 else (frame.width, frame.height)


def _container_kind(container: InputContainer, path: Path) -> str:
    """mp4, mov or webm when the file is one of those; otherwise the demuxer's short name (mkv, avi, ...)."""
    names = container.format.name.split(",")
    if "mp4" in names:
        brand = container.metadata.get("major_brand", "").strip().lower()
        return "mov" if brand == "qt" else "3gp" if brand.startswith("3g") else "mp4"
    if "matroska" in names:
        codecs = {s.codec_context.codec.canonical_name for s in container.streams if s.type in ("video", "audio")}
        return "webm" if path.suffix.lower() == ".webm" and codecs <= _WEBM_CODECS else "mkv"
    return names[0]


def prepare_video(
    path: StrPath, *, field: str, rule: VideoInputRule, limits: InputLimits, workdir: StrPath
) -> PreparedVideo:
    """Check a video against ``rule`` and ``limits`` and make it a data URI, re-encoding only when needed.

    The length that counts (the first ``rule.use_first_seconds`` when set) must be within
    ``rule.min_seconds``..``rule.max_seconds``. The file is re-encoded to H.264 MP4 in ``workdir`` when its codec
    or container is not accepted, when it must be trimmed, or when it would not fit
    ``limits.video_data_uri_bytes``; otherwise it is sent as it is.
    """
    source = probe_video(path, field=field)
    keep = _seconds_to_keep(source, rule)
    _check_length(source.duration_s if keep is None else keep, rule=rule, field=field)
    too_fast = rule.max_fps is not None and source.fps > rule.max_fps + 0.01
    mime = _VIDEO_MIME.get(source.container)
    if keep is None and mime and source.codec in SENDABLE_VIDEO_CODECS and not too_fast:
        as_is = _sent_as_is(Path(path), source, mime=mime, field=field, limits=limits)
        if as_is is not None:
            return as_is
    workdir = Path(workdir)
    if limits.uploads:  # what the API cannot take is fixed; the picture keeps its size and quality
        output = _reencode_for_upload(Path(path), keep_s=keep, max_fps=rule.max_fps, field=field, workdir=workdir)
    else:
        output = _reencode_to_fit(Path(path), source=source, keep_s=keep, field=field, limits=limits, workdir=workdir)
    info = probe_video(output, field=field)
    sent = _sent_as_is(output, info, mime="video/mp4", field=field, limits=limits)
    assert sent is not None  # _reencode_to_fit made it fit, or the provider takes uploads of this size
    return PreparedVideo(
        sent.data_uri,
        info,
        source,
        trimmed=keep is not None,
        reencoded=True,
        path=output,
        upload=sent.upload,
        rate_capped=too_fast,
    )


def _sent_as_is(path: Path, info: VideoInfo, *, mime: str, field: str, limits: InputLimits) -> PreparedVideo | None:
    """``path`` sent as it is: as a data URI when it fits, else uploaded when the provider takes uploads (and it
    is within their size limit). None when neither can carry it."""
    if data_uri_length(info.size_bytes, mime) <= limits.video_data_uri_bytes:
        return PreparedVideo(data_uri(path.read_bytes(), mime), info, info, trimmed=False, reencoded=False, path=path)
    if not limits.uploads:
        return None
    if info.size_bytes > limits.upload_max_bytes:
        size, cap = human_bytes(info.size_bytes), human_bytes(limits.upload_max_bytes)
        raise MediaError(field, Msg("media.upload_too_large", size=size, cap=cap))
    return PreparedVideo(None, info, info, trimmed=False, reencoded=False, path=path, upload=path)


def _reencode_for_upload(path: Path, *, keep_s: float | None, max_fps: float | None, field: str, workdir: Path) -> Path:
    """One re-encode at the source's own size and good quality: to cut it, slow its frame rate, or change a codec
    or container the API refuses. The result is uploaded, so it need not fit a data URI."""
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / f"{uuid.uuid4().hex}.mp4"
    settings = _EncodeSettings(max_side=UPLOAD_MAX_SIDE, crf=18, maxrate_kbps=None, keep_s=keep_s, max_fps=max_fps)
    _transcode(path, output, settings=settings, field=field)
    return output


def check_video(path: StrPath, *, rule: VideoInputRule, field: str) -> VideoInfo:
    """A video as a provider that refuses what a model cannot take: its length (the part used) within the rule's,
    and its frame rate at most the rule's (the studio converts a faster one; upstream refuses it)."""
    info = probe_video(path, field=field)
    keep = _seconds_to_keep(info, rule)
    _check_length(info.duration_s if keep is None else keep, rule=rule, field=field)
    if rule.max_fps is not None and info.fps > rule.max_fps + 0.01:
        raise MediaError(field, Msg("media.too_fast", fps=info.fps, cap=rule.max_fps))
    return info


def _seconds_to_keep(source: VideoInfo, rule: VideoInputRule) -> float | None:
    """How much to keep when the video is longer than the part that is used; None to keep it all."""
    limit = rule.use_first_seconds
    return limit if limit is not None and source.duration_s > limit + 1e-3 else None


def _seconds_text(seconds: float, bound: float) -> str:
    """``seconds`` to one decimal, or two when one decimal would look equal to the bound it failed."""
    text = f"{seconds:.1f}"
    return f"{seconds:.2f}" if float(text) == bound else text


def _allowed_length(rule: VideoInputRule) -> Msg:
    low, high = rule.min_seconds, rule.max_seconds
    if low is not None and high is not None:
        return Msg("media.length_between", low=low, high=high)
    return Msg("media.length_at_least", low=low) if low is not None else Msg("media.length_at_most", high=high)


def _check_length(seconds: float, *, rule: VideoInputRule, field: str) -> None:
    too_short = rule.min_seconds is not None and seconds < rule.min_seconds - 1e-3
    too_long = rule.max_seconds is not None and seconds > rule.max_seconds + 1e-3
    if too_short or too_long:
        bound = rule.min_seconds if too_short else rule.max_seconds
        shown = _seconds_text(seconds, float(bound or 0))
        raise MediaError(field, Msg("media.bad_length", seconds=shown, allowed=_allowed_length(rule)))


def _reencode_to_fit(
    path: Path, *, source: VideoInfo, keep_s: float | None, field: str, limits: InputLimits, workdir: Path
) -> Path:
    """Re-encode with ever smaller settings until the data URI fits; the first file that fits is returned."""
    workdir.mkdir(parents=True, exist_ok=True)
    seconds = source.duration_s if keep_s is None else keep_s
    kbps = _budget_kbps(limits.video_data_uri_bytes, seconds)
    smallest = None
    for max_side, crf in _VIDEO_ATTEMPTS:
        output = workdir / f"{uuid.uuid4().hex}.mp4"
        settings = _EncodeSettings(max_side=max_side, crf=crf, maxrate_kbps=kbps, keep_s=keep_s, max_fps=None)
        _transcode(path, output, settings=settings, field=field)
        size = data_uri_length(output.stat().st_size, "video/mp4")
        if size <= limits.video_data_uri_bytes:
            return output
        output.unlink(missing_ok=True)
        smallest = size if smallest is None else min(smallest, size)
    raise MediaError(
        field,
        Msg("media.video_too_large", smallest=human_bytes(smallest or 0), cap=human_bytes(limits.video_data_uri_bytes)),
    )


def _budget_kbps(uri_limit: int, seconds: float) -> int:
    """The video bitrate (kbit/s) that fills about 85 % of the bytes a data URI may carry."""
    file_bytes = payload_bytes(uri_limit, "video/mp4")
    return max(8, int(file_bytes * 0.85 * 8 / max(seconds, 0.1) / 1000))


@dataclass(frozen=True)
class _EncodeSettings:
    max_side: int
    crf: int
    maxrate_kbps: int | None  # None: quality only (the file is uploaded, not fitted into a data URI)
    keep_s: float | None
    max_fps: float | None = None  # frames faster than this are dropped to it


def _transcode(source: Path, output: Path, *, settings: _EncodeSettings, field: str) -> None:
    """Decode ``source`` and write its picture (no audio) as H.264/yuv420p MP4 with faststart."""
    try:
        with (
            av.open(os.fspath(source), mode="r") as inp,
            av.open(os.fspath(output), mode="w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            frames = _write_frames(inp, out, settings=settings)
    except (av.error.FFmpegError, OSError, ValueError) as err:
        output.unlink(missing_ok=True)
        raise MediaError(field, Msg("media.reencode_failed")) from err
    if frames == 0:
        output.unlink(missing_ok=True)
        raise MediaError(field, Msg("media.no_decodable_frames"))


def output_rate(stream: VideoStream, max_fps: float | None = None) -> Fraction:
    """The source's frame rate; 30 when it is unknown or above 60 (slow-motion clips are sent at 30); never above
    ``max_fps`` (a model's fastest rate)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    chosen = Fraction(rate) if 0 < rate <= _MAX_OUTPUT_FPS else Fraction(30)
    return min(chosen, Fraction(max_fps).limit_denominator(1001)) if max_fps else chosen


def _write_frames(inp: InputContainer, out: OutputContainer, *, settings: _EncodeSettings) -> int:
    """Copy the picture of ``inp`` into ``out``; returns the number of frames written."""
    in_stream = picture_stream(inp)
    if in_stream is None:
        return 0
    in_stream.thread_type = "AUTO"
    rate = output_rate(in_stream, settings.max_fps)
    encoder: VideoStream | None = None
    start: float | None = None
    last_pts, written = -1, 0
    for index, frame in enumerate(inp.decode(in_stream)):
        start = _frame_time(frame, index, rate) if start is None else start
        elapsed = _frame_time(frame, index, rate) - start
        if settings.keep_s is not None and elapsed >= settings.keep_s - 1e-6:
            break
        pts = round(elapsed * rate)
        if pts <= last_pts:
            continue  # two frames in one output slot (variable or high frame rate): keep the first
        encoder = encoder or _add_encoder(out, _display_size(frame), rate=rate, settings=settings)
        out.mux(encoder.encode(_output_frame(frame, encoder, pts=pts, time_base=1 / rate)))
        last_pts, written = pts, written + 1
    if encoder is not None:
        out.mux(encoder.encode(None))
    return written


def _frame_time(frame: VideoFrame, index: int, rate: Fraction) -> float:
    return frame.time if frame.time is not None else index / float(rate)


def _even_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled down to ``max_side`` (never up), both sides even as yuv420p requires."""
    scale = min(1.0, max_side / max(size))
    width, height = (max(2, int(side * scale) // 2 * 2) for side in size)
    return width, height


def _add_encoder(
    out: OutputContainer, display: tuple[int, int], *, rate: Fraction, settings: _EncodeSettings
) -> VideoStream:
    width, height = _even_size(display, settings.max_side)
    options = {"crf": str(settings.crf), "preset": "veryfast"}
    if settings.maxrate_kbps is not None:
        options |= {"maxrate": f"{settings.maxrate_kbps}k", "bufsize": f"{settings.maxrate_kbps * 2}k"}
    stream = out.add_stream("libx264", rate=rate, options=options)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    return stream


def _output_frame(frame: VideoFrame, encoder: VideoStream, *, pts: int, time_base: Fraction) -> VideoFrame:
    """The frame upright (rotation metadata applied), scaled to the encoder's size, as yuv420p."""
    result = upright(frame).reformat(width=encoder.width, height=encoder.height, format="yuv420p")
    result.pts = pts
    result.time_base = time_base
    return result


def upright(frame: VideoFrame) -> VideoFrame:
    """``frame`` as displayed: rotation metadata applied (as RGB), or ``frame`` itself when it has none."""
    turns = round(frame.rotation / 90) % 4
    if not turns:
        return frame
    return VideoFrame.from_ndarray(
        np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=turns), dtype=np.uint8)
    )


def save_frame(video: StrPath, dest: StrPath, *, at: float | Literal["last"] = "last") -> Path:
    """Save one frame of ``video`` at ``dest`` (PNG or JPEG by its suffix): the last one, or the first frame at or
    after the fraction ``at`` of its length (posters, and "use last frame as first frame")."""
    chosen: VideoFrame | None = None
    try:
        with av.open(str(video)) as container:
            stream = picture_stream(container)
            if stream is None:
                raise MediaError("Video", Msg("media.clip_unreadable"))
            stream.thread_type = "AUTO"
            length = header_seconds(container, stream)  # no decoding pass just to place a poster
            target = None if at == "last" or not length else at * length
            for frame in container.decode(stream):
                chosen = frame  # converted once, below: not every frame on the way
                if target is not None and frame.time is not None and frame.time >= target:
                    break
            if chosen is None:
                raise MediaError("Video", Msg("media.clip_no_frames"))
            image = chosen.to_image()
    except av.FFmpegError:
        raise MediaError("Video", Msg("media.clip_unreadable")) from None
    out = Path(dest)
    image.convert("RGB").save(out, quality=88)
    return out


def save_last_frame(video: StrPath, dest: StrPath) -> Path:
    """The last frame of ``video`` as a PNG (the next generation's first frame)."""
    return save_frame(video, dest, at="last")
