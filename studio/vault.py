"""The output vault: a finished clip is downloaded at once (provider links expire in 24-48 h), checked to decode,
given a poster frame, and from then on served from the studio's own copy under an unguessable name."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from studio import media
from studio.client import RunwayClient
from studio.errors import DownloadError, MediaError
from studio.i18n import Msg

MAX_OUTPUT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Kept:
    video: Path
    poster: Path
    seconds: float


async def keep_output(client: RunwayClient, url: str, *, folder: Path, gate: asyncio.Semaphore | None = None) -> Kept:
    """Download ``url`` into ``folder``, check it is a playable video, and save its poster frame.

    ``gate`` bounds how many clips are decoded at once (CPU work: more at a time only holds more memory).
    """
    name = secrets.token_urlsafe(18)  # unguessable: Gradio serves allowed files to whoever has the path
    video = await client.download(url, folder / f"{name}.mp4", max_bytes=MAX_OUTPUT_BYTES)
    try:
        async with gate or contextlib.nullcontext():
            info = await asyncio.to_thread(media.probe_video, video, field="Output")
            # The first frame: one frame decoded, not a third of the clip (this runs once per visitor per clip).
            poster = await asyncio.to_thread(media.save_frame, video, folder / f"{name}.jpg", at=0.0)
    except MediaError as err:
        video.unlink(missing_ok=True)
        raise DownloadError(
            Msg("vault.not_playable", error=err.issues[0].message if len(err.issues) == 1 else str(err))
        ) from None
    return Kept(video=video, poster=poster, seconds=info.duration_s)


def status_poster(status: str, *, folder: Path) -> Path:
    """A plain card standing in for a poster while a generation has no clip (drawn once per status)."""
    path = folder / f"status-{status}.png"
    if not path.exists():
        from PIL import Image, ImageDraw, ImageFont

        colours = {"failed": (217, 83, 79), "cancelled": (140, 140, 140), "lost": (140, 140, 140)}
        card = Image.new("RGB", (320, 180), (236, 239, 244))
        draw = ImageDraw.Draw(card)
        font = ImageFont.load_default(size=30)
        draw.text((160, 90), status.replace("_", " "), fill=colours.get(status, (70, 100, 160)), font=font, anchor="mm")
        card.save(path)
    return path
