"""Where the vault's files live: the data dir alone (the default), or an S3-compatible bucket shared by replicas.

    store = open_store(settings.storage_url, data_dir=..., endpoint_url=..., region=...)
    store.put(path)       # after a file is written under the data dir: the bucket has it too
    store.ensure(path)    # before reading one another replica may have made: fetched into the data dir if missing
    store.delete(path)    # Delete, purge and retention: gone from the bucket too

The local disk stays the working copy: every file is written, decoded and served from the data dir. With a bucket
configured, the bucket is the shared source of truth and the data dir is this replica's cache of it. A file's key
is its path relative to the data dir (``outputs/<random>/<name>.mp4`` under the URL's prefix), so the absolute paths
kept in history rows map to the same key on every replica, as long as every replica has the same STUDIO_DATA_DIR.

``LocalStore``'s methods do nothing (the data dir is the store). ``S3Store`` uses boto3, imported only when an
``s3://`` URL is configured (``pip install -e ".[replicas]"``): ``python app.py`` needs nothing more. Credentials
come from boto3's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role); the
studio never reads, keeps or prints them.

A data dir kept before the bucket was configured is copied up once with ``python -m studio.storage push``.

Blocking (network and file I/O): the service calls these from worker threads.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from studio.errors import StudioError

PART_BYTES = 8 * 1024 * 1024  # multipart uploads and downloads in parts of this size
DELETE_BATCH = 1000  # keys one DeleteObjects call takes


class StorageError(StudioError):
    """The shared store could not be reached or refused a request (not: a file it does not have)."""


class FileStore(Protocol):
    """Where the data dir's files are kept for every replica. Paths outside the data dir are not the store's."""

    @property
    def shared(self) -> bool:
        """True when the files live somewhere other replicas can reach (the data dir is then a cache)."""
        ...

    def put(self, path: Path) -> None:
        """Keep the local file at ``path`` (just written under the data dir) in the store."""
        ...

    def ensure(self, path: Path, *, confirm: bool = False) -> bool:
        """Whether the file at ``path`` can be read locally now: a missing local copy is fetched from the store.
        ``confirm``: a local copy counts only while the store still has the file (not one another replica deleted),
        for what serves files to whoever holds a link."""
        ...

    def delete(self, *paths: Path) -> None:
        """Remove the files at ``paths`` from the store (their local copies are the caller's to remove)."""
        ...

    def delete_folder(self, folder: Path) -> None:
        """Remove every file under ``folder`` from the store."""
        ...


class LocalStore:
    """The data dir is the store: nothing to copy, fetch or remove beyond the local files."""

    shared = False

    def put(self, path: Path) -> None:
        pass

    def ensure(self, path: Path, *, confirm: bool = False) -> bool:
        return path.is_file()

    def delete(self, *paths: Path) -> None:
        pass

    def delete_folder(self, folder: Path) -> None:
        pass


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix without slashes at its ends). Raises ValueError."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must look like s3://bucket or s3://bucket/prefix")
    if "@" in parts.netloc:  # a bucket's name has none: these are credentials, which belong to boto3's own chain
        raise ValueError("must not carry credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
    return parts.netloc, parts.path.strip("/")


class S3Store:
    """An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, ...) at ``url`` (``s3://bucket/prefix``) holding the
    files of ``data_dir``. ``endpoint_url``: the service's address when it is not AWS's (path-style addressing
    then, which every S3-compatible server answers). ``access_key``/``secret_key``: for tests; otherwise boto3's
    standard chain."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        data_dir: Path,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        import boto3  # optional: only a studio configured with a bucket needs it
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = parse_url(url)
        self.url, self.endpoint_url = url, endpoint_url
        self._roots = (Path(os.path.abspath(data_dir)), data_dir.resolve())
        config = Config(
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,  # the studio's worker threads (service.WORKER_THREADS)
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        self._transfer = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES)

    def key(self, path: Path) -> str | None:
        """The object key of a file under the data dir (None for one outside it, or for the data dir itself)."""
        absolute = Path(os.path.abspath(path))  # ".." taken out; symlinks kept: a missing file cannot be resolved
        for root in self._roots:
            if absolute != root and absolute.is_relative_to(root):
                rel = absolute.relative_to(root).as_posix()
                return f"{self.prefix}/{rel}" if self.prefix else rel
        return None

    def put(self, path: Path) -> None:
        key = self.key(path)
        if key is None:
            return
        with self._errors("keep", key):
            self.client.upload_file(str(path), self.bucket, key, Config=self._transfer)

    def ensure(self, path: Path, *, confirm: bool = False) -> bool:
        key = self.key(path)
        if key is None:
            return path.is_file()
        if path.is_file():
            # With ``confirm``, a copy the bucket no longer has (another replica deleted it) is not served. It is
            # left in place, not removed: a file kept before the bucket was configured looks the same until
            # ``python -m studio.storage push`` has copied it up, and is not this method's to destroy.
            return not confirm or self._exists(key)
        return self._fetch(key, path)

    def delete(self, *paths: Path) -> None:
        keys = [key for key in map(self.key, paths) if key is not None]
        self._delete_keys(keys)

    def delete_folder(self, folder: Path) -> None:
        key = self.key(folder)
        if key is None:
            return
        with self._errors("list", key):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=key + "/")
            keys = [item["Key"] for page in pages for item in page.get("Contents", ())]
        self._delete_keys(keys)

    def push(self, folders: Sequence[Path]) -> int:
        """Put every file under ``folders`` that the bucket does not have (a data dir kept before the bucket was
        configured). Returns how many were put."""
        held: set[str] = set()
        with self._errors("list", self.prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            held.update(item["Key"] for page in pages for item in page.get("Contents", ()))
        put = 0
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                key = self.key(path)
                if path.is_file() and not path.name.startswith(".") and key is not None and key not in held:
                    self.put(path)
                    put += 1
        return put

    def _exists(self, key: str) -> bool:
        with self._errors("check", key, missing=True) as missing:
            self.client.head_object(Bucket=self.bucket, Key=key)
        return not missing

    def _fetch(self, key: str, path: Path) -> bool:
        """Download ``key`` to ``path`` (through a temporary name: a half-fetched file is never taken for one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.parent / f".{secrets.token_hex(8)}.part"
        try:
            with self._errors("fetch", key, missing=True) as missing:
                self.client.download_file(self.bucket, key, str(partial), Config=self._transfer)
            if missing:
                return False
            os.replace(partial, path)
            return True
        finally:
            partial.unlink(missing_ok=True)

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            with self._errors("delete", batch[0]["Key"]):
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                raise StorageError(f"The file store did not delete {answer['Errors'][0].get('Key')}.")

    @contextlib.contextmanager
    def _errors(self, doing: str, key: str, *, missing: bool = False) -> Any:
        """Translate boto3's errors into StorageError; with ``missing``, a 404 is an answer rather than an error:
        the object yielded is then true."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        found = _Missing()
        try:
            yield found
        except (ClientError, BotoCoreError, Boto3Error) as err:
            # boto3's transfers raise their own error (S3UploadFailedError) for the store's answer: that answer
            answer = err if isinstance(err, ClientError) else err.__context__
            if not isinstance(answer, ClientError):
                raise StorageError(f"The file store could not {doing} {key}: {type(err).__name__}.") from None
            status = answer.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(answer.response.get("Error", {}).get("Code", "")) or str(status)
            if missing and code in ("404", "NoSuchKey", "NotFound"):
                found.missing = True
                return
            raise StorageError(f"The file store refused to {doing} {key}: {code}.") from None


class _Missing:
    """Whether the object asked for was not there (a 404 answered), set by ``S3Store._errors``."""

    missing = False

    def __bool__(self) -> bool:
        return self.missing


def open_store(
    url: str, *, data_dir: Path, endpoint_url: str = "", region: str = "", **credentials: str | None
) -> FileStore:
    """The store for STUDIO_STORAGE_URL: the data dir alone when it is empty, else the bucket it names."""
    if not url:
        return LocalStore()
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise StorageError(
            'STUDIO_STORAGE_URL names a bucket, which needs boto3: pip install -e ".[replicas]"'
        ) from None
    return S3Store(url, data_dir=data_dir, endpoint_url=endpoint_url or None, region=region or None, **credentials)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m studio.storage push``: copy the data dir's clips, posters and kept inputs that the bucket
    (STUDIO_STORAGE_URL) lacks into it, once, before replicas share it."""
    from studio.settings import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["push"]:
        print("usage: python -m studio.storage push", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    store = open_store(
        settings.storage_url,
        data_dir=settings.data_dir,
        endpoint_url=settings.storage_endpoint,
        region=settings.storage_region,
    )
    if not isinstance(store, S3Store):
        print("STUDIO_STORAGE_URL is not set: the data dir is the only store, nothing to push.", file=sys.stderr)
        return 2
    count = store.push([settings.data_dir / "outputs", settings.data_dir / "inputs"])
    print(f"Put {count} files from {settings.data_dir} in {settings.storage_url}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
