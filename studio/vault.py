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
    audio: Path | None = None  # Add sound: the provider's audio file, kept beside the clip it was muxed into


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


async def keep_sound(
    client: RunwayClient,
    url: str,
    *,
    source: str,
    folder: Path,
    gate: asyncio.Semaphore | None = None,
    name: str | None = None,
    store: FileStore | None = None,
) -> Kept:
    """Download the audio file at ``url`` and mux it into the clip it was made for (``source``: a file, or an https
    link to fetch), replacing the clip's own sound. Both are kept, in a folder of their own with an unguessable name:
    the clip under ``name`` (or a random one), the audio under the same stem with its format's ending. Raises
    DownloadError when either cannot be fetched or the result does not play."""
    token = random_name()
    own = folder / token
    own.mkdir(parents=True, exist_ok=True)
    clip = own / (name or f"{token}.mp4")
    try:
        fetched = await client.download(url, own / f"{clip.stem}.audio", max_bytes=MAX_OUTPUT_BYTES)
        audio = fetched.rename(fetched.with_suffix(_audio_ending(fetched)))
        picture = Path(source)
        if source.startswith("https://") or source.startswith("http://"):
            picture = await client.download(source, own / ".source.mp4", max_bytes=MAX_OUTPUT_BYTES)
        async with gate or contextlib.nullcontext():
            await asyncio.to_thread(media.mux_audio, picture, audio, clip)
            info = await asyncio.to_thread(media.probe_video, clip, field="Output")
            poster = await asyncio.to_thread(media.save_frame, clip, clip.with_suffix(".jpg"), at=0.0)
        if store is not None:  # for every replica, before the row names them
            for kept in (clip, poster, audio):
                await asyncio.to_thread(store.put, kept)
    except StorageError as err:
        shutil.rmtree(own, ignore_errors=True)
        raise DownloadError(Msg("vault.not_stored", error=str(err))) from None
    except MediaError as err:
        shutil.rmtree(own, ignore_errors=True)
        raise DownloadError(
            Msg("vault.not_playable", error=err.issues[0].message if len(err.issues) == 1 else str(err))
        ) from None
    except BaseException:
        shutil.rmtree(own, ignore_errors=True)
        raise
    (own / ".source.mp4").unlink(missing_ok=True)
    return Kept(video=clip, poster=poster, seconds=info.duration_s, audio=audio)


def _audio_ending(path: Path) -> str:
    """An audio file's ending from its first bytes (a link's name need not say): .wav, .flac or .mp3."""
    with path.open("rb") as file:
        head = file.read(12)
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"OggS"):
        return ".ogg"
    return ".mp3"  # ID3 or a bare MPEG audio frame


async def fetch_kept(path: object, *, store: FileStore | None) -> None:
    """Make a file the studio kept (``path``, as a form or row names it) readable here: fetched from the shared
    store when another replica kept it. Raises DownloadError (which may pass) when the store does not answer."""
    if not isinstance(path, str) or not path or store is None:
        return
    try:
        await asyncio.to_thread(store.ensure, Path(path))
    except StorageError as err:
        raise DownloadError(Msg("vault.not_stored", error=str(err))) from None


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
