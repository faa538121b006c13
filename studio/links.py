"""The studio's own file route: clips, posters and kept inputs are served only through signed, expiring links.

    href = links.href(path)           # "studio/files/<expiry>/<signature>/outputs/<random>/<name>.mp4"
    GET /studio/files/<expiry>/<signature>/<path in the data dir>

A link is made only for a file the page shows its owner (History lists only the visitor's own generations), and
signed with HMAC-SHA256 under a key that never leaves the server (``link.key`` in the data dir, not under a served
folder). The route answers 404, alike, to a link that is forged, expired, outside the outputs and inputs folders,
or to a file that is gone: once Delete has removed a file, every link to it is dead. With a shared store
(``studio.storage``) a file is served from this replica's copy, fetched from the store when it has none, and only
while the store still has it.

What a file is comes from its bytes, never from its name: a video or an image is served inline as its real type,
anything else as an ``application/octet-stream`` attachment (so an HTML-looking file never runs on the studio's
origin).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import os
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from studio.storage import FileStore, LocalStore, StorageError

ROUTE = "studio/files"  # relative to the app's root (the page links to it relative to itself)
LINK_TTL_S = 24 * 3600.0  # a page's links last this long; every view of History makes new ones
# Links made within one such step end together, so a link made again is the same link: a clip the page shows again
# (the previous take while a new generation runs) keeps its address, and the browser does not load it again.
LINK_EXPIRY_STEP_S = 3600
# A link's path, alone or as the URL inside Gradio's file route (after the app's root path, if any).
_LINK_PATH = re.compile(
    rf"^(?:/gradio_api/file=https?://[^/]+)?(?:/[^?#]*?)?/{ROUTE}/(?P<expiry>\d+)/(?P<signature>[A-Za-z0-9_-]+)/(?P<rel>.+)$"
)
NAME_BYTES = 18  # random bytes in every kept file's name: 144 bits
SNIFF_BYTES = 64

# (magic test, content type, file name ending): only what the studio keeps is ever served inline.
_KINDS: tuple[tuple[Callable[[bytes], bool], str, str], ...] = (
    (lambda b: b[4:8] == b"ftyp" and b[8:10] != b"qt", "video/mp4", ".mp4"),
    (lambda b: b[4:8] == b"ftyp", "video/quicktime", ".mov"),
    (lambda b: b.startswith(b"\x1a\x45\xdf\xa3"), "video/webm", ".webm"),
    (lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"), "image/png", ".png"),
    (lambda b: b.startswith(b"\xff\xd8\xff"), "image/jpeg", ".jpg"),
    (lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP", "image/webp", ".webp"),
    (lambda b: b[:6] in (b"GIF87a", b"GIF89a"), "image/gif", ".gif"),
)
UNKNOWN = ("application/octet-stream", ".bin")


def sniff(head: bytes) -> tuple[str, str]:
    """The content type and file name ending of a file whose first bytes are ``head`` (from its bytes only)."""
    return next(((kind, ending) for test, kind, ending in _KINDS if test(head)), UNKNOWN)


def sniff_file(path: Path) -> tuple[str, str]:
    with path.open("rb") as f:
        return sniff(f.read(SNIFF_BYTES))


def random_name() -> str:
    """An unguessable file or folder name: 144 random bits (a uuid4 has only 122)."""
    return secrets.token_urlsafe(NAME_BYTES)


def link_key(data_dir: Path, *, secret: str = "") -> bytes:
    """The links' signing key: derived from ``secret`` (STUDIO_SECRET) when it is set, so replicas on machines that
    share no disk sign alike; else made once and kept in the data dir (readable by the server only)."""
    if secret:
        return hmac.new(secret.encode(), b"runway-studio file links", hashlib.sha256).digest()
    path = data_dir / "link.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # two servers starting on one data dir: the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    return path.read_bytes()


class FileLinks:
    """Signs links to the files under ``folders`` (inside ``data_dir``) and serves them."""

    def __init__(
        self,
        *,
        key: bytes,
        data_dir: Path,
        folders: Sequence[Path],
        clock: Callable[[], float] = time.time,
        ttl_s: float = LINK_TTL_S,
        store: FileStore | None = None,
    ) -> None:
        self._key = key
        self._store: FileStore = store or LocalStore()
        self._root = data_dir.resolve()
        self._folders = tuple(folder.resolve() for folder in folders)
        self._clock = clock
        self._ttl_s = ttl_s

    def href(self, path: str | Path) -> str | None:
        """The link to ``path`` relative to the app's root (None for a file outside the served folders)."""
        rel = self._relative(Path(path))
        if rel is None:
            return None
        step = LINK_EXPIRY_STEP_S
        expiry = str(math.ceil((self._clock() + self._ttl_s) / step) * step)  # at least ttl_s from now
        quoted = urllib.parse.quote(rel)
        return f"{ROUTE}/{expiry}/{self._sign(expiry, rel)}/{quoted}"

    def resolve(self, expiry: str, signature: str, rel: str) -> Path | None:
        """The file a link names, or None when the link is not valid or the file is gone (here)."""
        path = self._named(expiry, signature, rel)
        return path if path is not None and path.is_file() else None

    def _named(self, expiry: str, signature: str, rel: str) -> Path | None:
        """The path a link names, or None when the link is forged, expired or outside the served folders."""
        if not expiry.isdigit() or int(expiry) < self._clock():
            return None
        if not hmac.compare_digest(signature, self._sign(expiry, rel)):
            return None
        path = (self._root / rel).resolve()
        return path if any(path.is_relative_to(folder) for folder in self._folders) else None

    def secret_name(self, text: str) -> str:
        """A name derived from ``text`` that only the server can derive (144 bits of HMAC)."""
        digest = hmac.new(self._key, f"name\n{text}".encode(), hashlib.sha256).digest()[:NAME_BYTES]
        return base64.urlsafe_b64encode(digest).decode()

    def middleware(self) -> Middleware:
        """Serves the links in front of Gradio's routes: ``/studio/files/...``, and the same link asked through
        Gradio's file route (``/gradio_api/file=<the link's URL>``, which is how gradio_client downloads outputs)."""
        return Middleware(_Serve, links=self)

    async def serve(self, request: Request, match: re.Match[str]) -> Response:
        path = self._named(match["expiry"], match["signature"], match["rel"])
        # With a shared store, a copy made by another replica is fetched here first, and a copy here of a file
        # another replica deleted is not served (the store is asked: Delete kills every link on every replica).
        try:
            if path is None or not await asyncio.to_thread(self._store.ensure, path, confirm=True):
                return PlainTextResponse("Not found", status_code=404)
        except StorageError:
            return PlainTextResponse("The file store did not answer; try again.", status_code=503)
        kind, _ = sniff_file(path)
        inline = kind.startswith(("video/", "image/"))
        disposition = "inline" if inline else "attachment"
        return FileResponse(
            path,
            media_type=kind,
            content_disposition_type=disposition,
            filename=path.name,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )

    def _relative(self, path: Path) -> str | None:
        resolved = path.resolve()
        if not any(resolved.is_relative_to(folder) for folder in self._folders):
            return None
        return resolved.relative_to(self._root).as_posix()

    def _sign(self, expiry: str, rel: str) -> str:
        digest = hmac.new(self._key, f"{expiry}\n{rel}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class _Serve:
    """The ASGI middleware of ``FileLinks.middleware``."""

    def __init__(self, app: ASGIApp, *, links: FileLinks) -> None:
        self.app = app
        self.links = links

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _LINK_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        response = await self.links.serve(Request(scope, receive), match)
        await response(scope, receive, send)
