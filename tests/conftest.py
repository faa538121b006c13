"""Shared fixtures: a fake clock, and the real studio launched on a loopback port on the simulator."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the network is closed

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "examples"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# The real API's documented wire examples and reference, copied into the repository (see its README.md).
API_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "api"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: quick failures first, and no Playwright event loop alive while async tests run."""
    items.sort(key=lambda item: "e2e" in item.path.parts)


# --- the history on both engines ---------------------------------------------------------------------------
#
# A test module that says ``pytestmark = pytest.mark.usefixtures("database")`` runs each of its tests on SQLite and
# on PostgreSQL (a fresh schema per test, in the database STUDIO_TEST_DATABASE_URL names; `.ci/postgres` starts a
# throwaway one). Its stores are made with ``history_store`` (and ``tests.rigs.SimulatedStudio``), which follow the
# engine. A test marked ``sqlite_only`` (it reads the SQLite file itself) runs on SQLite alone; ``postgresql_only``,
# on PostgreSQL alone.
# Without STUDIO_TEST_DATABASE_URL the PostgreSQL variants are skipped, except on CI (CI set), where they fail.

ENGINES = ("sqlite", "postgresql")
TEST_DATABASE_VARIABLE = "STUDIO_TEST_DATABASE_URL"


class Engine:
    """The engine the running test's stores use: ``url`` is None for SQLite (each store's own file)."""

    url: str | None = None
    stores: list[Any] = []  # the stores made for the running test on PostgreSQL, closed after it (connections)


def history_store(path: Path, *, clock: Callable[[], float] | None = None) -> Any:
    """A history store for the running test: the SQLite file at ``path``, or the test's PostgreSQL schema (every
    store of a test shares it, whatever its path: as the same file would be)."""
    from studio.history import HistoryStore

    options = {} if clock is None else {"clock": clock}
    store = HistoryStore(Engine.url or path, **options)
    if Engine.url:
        Engine.stores.append(store)
    return store


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        engines = ENGINES[:1] if marked("sqlite_only") else ENGINES[1:] if marked("postgresql_only") else ENGINES
        metafunc.parametrize("database", engines, indirect=True)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine this variant of the test runs on (see above)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = os.environ.get(TEST_DATABASE_VARIABLE, "")
    if not url:
        reason = f"{TEST_DATABASE_VARIABLE} is not set (source .ci/postgres for a throwaway PostgreSQL)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: on CI every PostgreSQL variant must run")
        pytest.skip(reason)
    import psycopg  # the test extras have it

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    Engine.url = with_search_path(url, schema)
    try:
        yield "postgresql"
    finally:
        for store in Engine.stores:
            store.close()
        Engine.url, Engine.stores = None, []
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections work in ``schema`` (libpq's ``options``)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"{query.get('options', '')} -csearch_path={schema}".strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def simulator_argv(port: int, *, pending_s: float, running_s: float, options: tuple[str, ...] = ()) -> list[str]:
    """The standalone simulator's command line (``python -m studio.simulator``) on 127.0.0.1:``port``, its tasks
    pending then running for these times; ``options`` are more of its flags."""
    address = ["--host", "127.0.0.1", "--port", str(port)]
    times = ["--pending", str(pending_s), "--running", str(running_s)]
    return [sys.executable, "-m", "studio.simulator", *address, *times, *options]


@dataclass
class LaunchedStudio:
    url: str
    studio: Any  # studio.service.Studio
    demo: Any
    settings: Any  # studio.settings.Settings

    @property
    def created(self) -> int:
        """Tasks the embedded simulator has created so far."""
        return int(self.studio.simulator_app.state.engine.counters.created)

    @property
    def engine(self) -> Any:
        return self.studio.simulator_app.state.engine


# Every browser of a test session arrives from 127.0.0.1: the studio's cap on new visitors per address (20 a day)
# would refuse the later tests' visitors. A test of the cap sets its own.
TEST_VISITORS = {"STUDIO_NEW_VISITORS_PER_ADDRESS_DAILY": "100000"}


@contextmanager
def serve(env: Mapping[str, str]) -> Iterator[LaunchedStudio]:
    """The whole studio as `python app.py` builds it from ``env`` (STUDIO_* settings), on a loopback port."""
    from studio.settings import Settings
    from studio.ui import gradio_compat
    from studio.ui.app import assemble, launch_options

    gradio_compat.keep_session_ids()  # as app.py's main() does
    settings = Settings.from_env(TEST_VISITORS | dict(env))
    studio, demo = assemble(settings)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(studio, max_upload_mb=settings.max_upload_mb),
    )
    try:
        yield LaunchedStudio(url=f"http://127.0.0.1:{port}/", studio=studio, demo=demo, settings=settings)
    finally:
        demo.close()


@pytest.fixture(scope="session")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedStudio]:
    """The whole studio on the embedded simulator with short task times."""
    data = tmp_path_factory.mktemp("studio-data")
    with serve({"STUDIO_DATA_DIR": str(data), "STUDIO_SIM_PENDING_S": "0.5", "STUDIO_SIM_RUNNING_S": "2.5"}) as studio:
        yield studio


# --- the file store: the data dir alone, or an S3-compatible bucket ----------------------------------------------

S3_KEYS = {"access_key": "testing", "secret_key": "testing"}  # the emulator takes any; boto3 signs with them
S3_REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 emulator on a loopback port: moto's server (``moto[server]``, in this process, on its own thread). It
    answers S3's HTTP API; the code under test is the real boto3 client. In CI a missing emulator is a failure."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail('the S3 emulator is missing: pip install -e ".[test]" installs moto[server]')
        pytest.skip('the S3 emulator is not installed (pip install -e ".[test]")')
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class Bucket:
    """A bucket of its own for one test, on the emulator; the studio's files under ``prefix``."""

    endpoint: str
    name: str
    prefix: str = "studio"

    @property
    def url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def store(self, data_dir: Path) -> Any:
        from studio.storage import S3Store

        return S3Store(self.url, data_dir=data_dir, endpoint_url=self.endpoint, region=S3_REGION, **S3_KEYS)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=S3_KEYS["access_key"],
            aws_secret_access_key=S3_KEYS["secret_key"],
        )

    def objects(self) -> set[str]:
        """The keys in the bucket, relative to the studio's prefix (paths in the data dir)."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return {item["Key"].removeprefix(self.prefix + "/") for page in pages for item in page.get("Contents", ())}

    def env(self) -> dict[str, str]:
        """The settings (and boto3's credentials) of a studio on this bucket."""
        return {
            "STUDIO_STORAGE_URL": self.url,
            "STUDIO_STORAGE_ENDPOINT": self.endpoint,
            "STUDIO_STORAGE_REGION": S3_REGION,
        }


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    import uuid

    made = Bucket(s3_endpoint, f"studio-{uuid.uuid4().hex[:20]}")
    made.client().create_bucket(Bucket=made.name)
    return made


@dataclass
class Vault:
    """Where a test's studio keeps its files: ``disk`` (the data dir alone) or ``s3`` (a bucket it caches)."""

    kind: str
    bucket: Bucket | None = None

    def store(self, data_dir: Path) -> Any:
        from studio.storage import LocalStore

        return LocalStore() if self.bucket is None else self.bucket.store(data_dir)

    def objects(self) -> set[str]:
        """What the bucket holds (nothing without one)."""
        return set() if self.bucket is None else self.bucket.objects()

    def key(self, data_dir: Path, path: str | Path | None) -> str:
        return Path(os.path.abspath(str(path))).relative_to(os.path.abspath(data_dir)).as_posix()

    def forget_local(self, data_dir: Path) -> None:
        """With a bucket, remove this replica's copies of the clips and inputs: as another machine would start."""
        if self.bucket is not None:
            import shutil

            for folder in ("outputs", "inputs"):
                shutil.rmtree(data_dir / folder, ignore_errors=True)
                (data_dir / folder).mkdir()


@pytest.fixture(params=["disk", "s3"])
def vault(request: pytest.FixtureRequest) -> Vault:
    """The vault tests run on both: the data dir alone, and an S3 bucket (the emulator) that the data dir caches."""
    if request.param == "disk":
        return Vault("disk")
    return Vault("s3", request.getfixturevalue("bucket"))
