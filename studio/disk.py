"""Bounded disk: kept inputs stored once by content, and the folders that would otherwise only grow trimmed.

* ``keep_input`` stores an input under its content's SHA-256 (``inputs/<sha256><ext>``): the same image sent twice,
  or by two visitors, is one file. A form refers to it by path; the file goes when no generation refers to it.
* ``DiskPolicy`` is the host's limits (``STUDIO_RETENTION_DAYS``, ``STUDIO_MAX_DATA_GB``, and Gradio's upload folder's
  age and size); the service's background loop applies them (``Studio.keep_disk_bounded``).
* ``trim_folder`` bounds a folder of temporary files (Gradio's uploads) by age and then by size, oldest first.

Blocking (file I/O): the service calls these from worker threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

GB = 1024**3
MB = 1024**2
DAY_S = 86400.0
LOW_WATER = 0.9  # over its budget, the data dir is brought back under this fraction of it: room for a minute's clips
UPLOAD_GRACE_S = 120.0  # an upload this young is never trimmed for size: its page may be sending it right now
HASHED = re.compile(r"[0-9a-f]{64}(?:\.[A-Za-z0-9]{1,10})?")  # a kept input's name


@dataclass(frozen=True)
class DiskPolicy:
    """How much the studio keeps. None: no limit of that kind."""

    retention_days: float | None = None  # a generation's files go this long after it was made (starred ones stay)
    max_data_bytes: int | None = None  # the data dir's budget: the oldest generations' files go first
    upload_dir: Path | None = None  # Gradio's upload folder (GRADIO_TEMP_DIR); None: not trimmed
    upload_max_age_s: float | None = 3600.0
    upload_max_bytes: int | None = 1024 * MB

    @property
    def retains(self) -> bool:
        return self.retention_days is not None or self.max_data_bytes is not None


def keep_input(source: Path, folder: Path, *, key: bytes, ending: str) -> Path:
    """Store ``source`` in ``folder`` once, under a keyed hash of its content (HMAC-SHA256 with the server's
    ``key``: the same bytes give the same name, and nobody without the key can work a name out from an image they
    hold) and ``ending`` (what its bytes are, never the uploaded name's): a second copy of the same content is the
    first one's path. Written to a temporary name and renamed, so a half-written file is never taken for a kept one.
    """
    digest = hmac.new(key, digestmod=hashlib.sha256)
    with source.open("rb") as f:
        for chunk in iter(lambda: f.read(MB), b""):
            digest.update(chunk)
    dest = folder / f"{digest.hexdigest()}{ending}"
    if dest.is_file():
        os.utime(dest)  # kept again now: the newest reference
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{secrets.token_hex(8)}.part"
    try:
        with source.open("rb") as src, partial.open("wb") as out:
            for chunk in iter(lambda: src.read(MB), b""):
                out.write(chunk)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def kept_inputs(text: str, folder: Path) -> set[Path]:
    """The content-addressed inputs in ``folder`` that ``text`` (a form as JSON) names."""
    marker = re.escape(str(folder) + os.sep)
    return {folder / name for name in re.findall(marker + r"(" + HASHED.pattern + r")", text)}


def size_of(path: Path) -> int:
    """Bytes the files under ``path`` take (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def file_bytes(*paths: str | Path | None) -> int:
    """Bytes of the given files that exist."""
    total = 0
    for path in paths:
        if path:
            with contextlib.suppress(OSError):
                total += os.stat(path).st_size
    return total


@dataclass(frozen=True)
class Trimmed:
    files: int
    bytes: int


def trim_folder(
    folder: Path | Sequence[Path],
    *,
    now: float,
    max_age_s: float | None,
    max_bytes: int | None,
    keep: Collection[str] = (),
) -> Trimmed:
    """Remove the files under ``folder`` (or several folders, counted together) last written more than
    ``max_age_s`` ago, then the oldest ones until the rest take at most ``max_bytes`` (a file younger than
    UPLOAD_GRACE_S is kept: a page may be sending it), and the folders left empty. The files in ``keep`` (the
    page's own: examples, default values) stay."""
    folders = [folder] if isinstance(folder, Path) else list(folder)
    found: list[tuple[float, int, str]] = []
    kept = {os.path.abspath(path) for path in keep}
    for root, _dirs, files in (step for top in folders for step in os.walk(top)):
        for name in files:
            path = os.path.join(root, name)
            if os.path.abspath(path) in kept:
                continue
            with contextlib.suppress(OSError):
                stat = os.lstat(path)
                found.append((stat.st_mtime, stat.st_size, path))
    found.sort()
    total = sum(size for _, size, _ in found)
    removed = freed = 0
    for mtime, size, path in found:
        too_old = max_age_s is not None and now - mtime > max_age_s
        too_big = max_bytes is not None and total > max_bytes and now - mtime > UPLOAD_GRACE_S
        if not (too_old or too_big):
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed, freed, total = removed + 1, freed + size, total - size
    for root, dirs, _files in (step for top in folders for step in os.walk(top, topdown=False)):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))  # only an empty one
    return Trimmed(removed, freed)
