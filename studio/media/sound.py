"""Sound for a finished clip: the audio an Add sound pass made, muxed into the clip it was made for.

``mux_audio`` copies the clip's picture as it is (no re-encode: no loss, and fast) and encodes the audio file's
first track (MP3, WAV or FLAC) as stereo AAC-LC at 48 kHz, which every browser plays in an MP4; any sound the
clip had is replaced. The result is an MP4 with its ``moov`` atom first (faststart), so the page's player starts
before the download ends. Blocking (PyAV): callers run it in a worker thread.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
from av.packet import Packet

from studio.errors import MediaError
from studio.i18n import Msg

SAMPLE_RATE = 48_000
BIT_RATE = 128_000


def mux_audio(video: str | os.PathLike[str], audio: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """``video``'s picture with ``audio``'s sound, cut to the picture's length, written to ``dest`` (atomically).

    Raises MediaError when either file cannot be read or the video has no picture."""
    dest = Path(dest)
    part = dest.with_name(f".{dest.name}.part")
    try:
        with av.open(str(video)) as source, av.open(str(audio)) as sound:
            if not source.streams.video:
                raise MediaError("Video", Msg("media.sound_only"))
            if not sound.streams.audio:
                raise MediaError("Audio", Msg("media.no_sound"))
            picture = source.streams.video[0]
            seconds = _picture_seconds(source, picture)
            with av.open(str(part), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
                copied = out.add_stream_from_template(picture)
                track = out.add_stream("aac", rate=SAMPLE_RATE)
                track.layout, track.bit_rate = "stereo", BIT_RATE
                packets = _video_packets(source, picture, copied) + _audio_packets(sound, track, seconds)
                # Interleaved by time, so a browser streams picture and sound together from the start.
                for packet in sorted(packets, key=_packet_time):
                    out.mux(packet)
        part.replace(dest)
    except av.FFmpegError as err:
        part.unlink(missing_ok=True)
        raise MediaError("Output", Msg("media.mux_failed", error=str(err))) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dest


def _picture_seconds(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def _video_packets(
    source: av.container.InputContainer, picture: av.video.stream.VideoStream, copied: av.stream.Stream
) -> list[Packet]:
    packets = []
    for packet in source.demux(picture):
        if packet.dts is None:  # the demuxer's flush packet
            continue
        packet.stream = copied
        packets.append(packet)
    return packets


def _audio_packets(
    sound: av.container.InputContainer, track: av.audio.stream.AudioStream, seconds: float
) -> list[Packet]:
    """The first audio track of ``sound`` as AAC packets for ``track``, at most ``seconds`` long."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
    limit = round(seconds * SAMPLE_RATE) if seconds > 0 else None
    packets: list[Packet] = []
    done = 0
    for frame in sound.decode(sound.streams.audio[0]):
        for chunk in resampler.resample(frame):
            if limit is not None and done >= limit:
                break
            keep = chunk.samples if limit is None else min(chunk.samples, limit - done)
            if keep < chunk.samples:
                chunk = _head(chunk, keep)
            chunk.pts, chunk.time_base = done, Fraction(1, SAMPLE_RATE)
            done += keep
            packets += track.encode(chunk)
    return packets + track.encode(None)


def _head(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """The first ``samples`` of a planar float ``frame``."""
    head = av.AudioFrame.from_ndarray(frame.to_ndarray()[:, :samples].copy(), format="fltp", layout="stereo")
    head.sample_rate = SAMPLE_RATE
    return head


def _packet_time(packet: Packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts or 0
    return float(stamp * packet.time_base) if packet.time_base is not None else 0.0
