"""The output vault: a finished clip is downloaded at once (provider links expire in 24-48 h), checked to decode,
given a poster frame, and from then on served from the studio's own copy under an unguessable name.

A clip is downloaded under a readable name (``download_name``): a new clip is kept under it, in a folder with an
unguessable name; a clip kept before that is linked under it (``named_copy``), in a folder of its own whose name
the service derives from the generation's id with its secret key (as unguessable as the copy itself)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from studio import media
from studio.client import RunwayClient
from studio.errors import DownloadError, MediaError
from studio.history import Generation
from studio.i18n import Msg
from studio.links import random_name
from studio.storage import FileStore, StorageError

MAX_OUTPUT_BYTES = 512 * 1024 * 1024
PROMPT_WORDS = 6  # how many of the prompt's first words a download's name keeps
PROMPT_WORDS_MAX_CHARS = 40


@dataclass(frozen=True)
class Kept:
    video: Path
    poster: Path
    seconds: float


async def keep_output(
    client: RunwayClient,
    url: str,
    *,
    folder: Path,
    gate: asyncio.Semaphore | None = None,
    name: str | None = None,
    store: FileStore | None = None,
) -> Kept:
    """Download ``url`` into ``folder``, check it is a playable video, and save its poster frame.

    With ``name`` (``download_name``) the clip keeps that readable name in a folder of its own with an unguessable
    name, so that every download of it (the tab's, the player's, History's) is named alike; without, the file
    itself has the unguessable name. ``gate`` bounds how many clips are decoded at once (CPU work: more at a time
    only holds more memory). ``store``: where the clip and its poster are kept for every replica (a store that
    cannot keep them is a DownloadError that may pass: the job is resumed, and downloads again).
    """
    token = random_name()  # unguessable (144 bits): Gradio serves allowed files to whoever has the path
    if name:
        (folder / token).mkdir(parents=True, exist_ok=True)
    video_path = folder / token / name if name else folder / f"{token}.mp4"
    video = await client.download(url, video_path, max_bytes=MAX_OUTPUT_BYTES)
    try:
        async with gate or contextlib.nullcontext():
            info = await asyncio.to_thread(media.probe_video, video, field="Output")
            # The first frame: one frame decoded, not a third of the clip (this runs once per visitor per clip).
            poster = await asyncio.to_thread(media.save_frame, video, video_path.with_suffix(".jpg"), at=0.0)
        if store is not None:  # the clip and its poster for every replica, before the row names them
            for kept in (video, poster):
                await asyncio.to_thread(store.put, kept)
    except (MediaError, StorageError) as err:
        for made in (video, video_path.with_suffix(".jpg")):
            made.unlink(missing_ok=True)
        if name:
            shutil.rmtree(folder / token, ignore_errors=True)
        if isinstance(err, StorageError):
            raise DownloadError(Msg("vault.not_stored", error=str(err))) from None
        raise DownloadError(
            Msg("vault.not_playable", error=err.issues[0].message if len(err.issues) == 1 else str(err))
        ) from None
    return Kept(video=video, poster=poster, seconds=info.duration_s)


def download_name(generation: Generation) -> str:
    """The file name a clip is downloaded as: ``YYYYMMDD-HHMM_model_prompt-words_seed.mp4``.

    The time is when the generation was made, in UTC; the prompt words are its first few, lowercase, ASCII only,
    joined by hyphens and bounded in length (a prompt with no such words, or none, leaves that part out, as a
    generation without a seed leaves out the seed)."""
    made = dt.datetime.fromtimestamp(generation.created_at, tz=dt.timezone.utc).strftime("%Y%m%d-%H%M")
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", generation.model).strip(".-") or "clip"
    parts = [made, model, _prompt_words(generation.prompt)]
    if generation.seed is not None:
        parts.append(str(generation.seed))
    return "_".join(part for part in parts if part) + ".mp4"


def _prompt_words(prompt: str) -> str:
    """The first words of ``prompt`` as ASCII, lowercase, hyphen-joined, at most PROMPT_WORDS_MAX_CHARS long."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)[:PROMPT_WORDS]
    kept: list[str] = []
    for word in words:
        if len("-".join([*kept, word])) > PROMPT_WORDS_MAX_CHARS:
            break
        kept.append(word)
    return "-".join(kept) if kept else (words[0][:PROMPT_WORDS_MAX_CHARS] if words else "")


def named_copy(generation: Generation, *, folder: Path) -> Path:
    """The generation's clip under its download name, in ``folder``, the generation's own (a hard link to the
    vault's copy where the file system allows one, else a copy), made once. Raises FileNotFoundError when the
    generation has no clip."""
    if not generation.output_path or not Path(generation.output_path).is_file():
        raise FileNotFoundError(generation.output_path or generation.id)
    if Path(generation.output_path).name == download_name(generation):
        return Path(generation.output_path)  # kept under that name already (``keep_output``)
    own = folder
    dest = own / download_name(generation)
    if not dest.is_file():
        own.mkdir(parents=True, exist_ok=True)
        try:
            os.link(generation.output_path, dest)
        except OSError:  # another file system, or links not allowed: a copy serves as well
            shutil.copyfile(generation.output_path, dest)
    return dest
