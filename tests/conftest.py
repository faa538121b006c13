"""Shared fixtures: a fake clock, and the real studio launched on a loopback port on the simulator."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@contextmanager
def serve(env: Mapping[str, str]) -> Iterator[LaunchedStudio]:
    """The whole studio as `python app.py` builds it from ``env`` (STUDIO_* settings), on a loopback port."""
    from studio.settings import Settings
    from studio.ui import gradio_compat
    from studio.ui.app import assemble, launch_options

    gradio_compat.keep_session_ids()  # as app.py's main() does
    settings = Settings.from_env(env)
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
