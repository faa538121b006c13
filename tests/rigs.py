"""The service-level tests' rig: a studio on an in-process simulator, both on one fake clock; and the Image to Video
form they send."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from studio.capabilities import SIMULATED_DIALECTS, ProviderSpec
from studio.client import RunwayClient
from studio.forms import Form, MediaInput
from studio.service import Studio
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig
from tests.conftest import ASSETS, history_store
from tests.fakes import FakeClock


def paper_boats(**changes: Any) -> Form:
    """Image to Video: gen4_turbo from the bundled paper boats at 960:960, seed 7; ``changes`` set other values."""
    form = Form.of(
        "image_to_video",
        model="gen4_turbo",
        ratio="960:960",
        first=MediaInput(path=str(ASSETS / "paper_boats.png")),
        seed=7,
    )
    return form.replace(**changes)


def dialect(provider: ProviderSpec) -> str:
    """The path prefix of the simulator's dialect that serves ``provider``'s models (the proxy's: /runwayml)."""
    return next(prefix for prefix, simulated in SIMULATED_DIALECTS.items() if simulated.models == provider.models)


class SimulatedStudio:
    """A studio with one provider, ``provider``, answered in process by the simulator's dialect for its rules; the
    simulator, the client and the studio all on one fake clock (or the ``simulator`` and ``clock`` of another rig,
    to restart a studio on them). ``wrap`` is where a rig puts a transport of its own between the client and the
    simulator; ``studio_options`` go to ``Studio``."""

    def __init__(
        self,
        data: Path,
        provider: ProviderSpec,
        config: SimulatorConfig,
        *,
        server_key: str = "",
        simulator: Any = None,
        clock: FakeClock | None = None,
        **studio_options: Any,
    ) -> None:
        self.provider = provider.name
        self.clock = clock or FakeClock(real_pause=0.002)
        self.simulator = simulator or create_app(config, clock=self.clock)
        self.client = RunwayClient(
            provider=provider,
            base_url="http://sim" + dialect(provider),
            transport=self.wrap(httpx.ASGITransport(app=self.simulator)),
            sleep=self.sleep,
            clock=self.clock,
        )
        # One replica id across restarts, as a restarted `python app.py` on its data dir has (studio.wiring).
        replica = f"rig:{uuid.uuid4().hex[:8]}"
        self._studio_options = {"server_key": server_key, "data_dir": data, "replica_id": replica, **studio_options}
        self.studio = self.restarted()

    async def sleep(self, seconds: float) -> None:
        """The client's wait between two polls: fake time moves on only once the clips being rendered are made.

        A render is real work in a thread while polls move fake time: on a busy machine the polls ran through the
        client's 30 minutes before one clip was made, and the job gave up ("still running after 30 minutes")."""
        renders = [t.render for t in self.engine.tasks.values() if t.render is not None and not t.render.done()]
        if renders:
            await asyncio.wait(renders)
        await self.clock.sleep(seconds)

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The client's transport to the simulator, as it is here: a rig that watches or breaks requests wraps it."""
        return transport

    def restarted(self) -> Studio:
        """A new studio on this rig's client and data folder, as the process would start again (its history on the
        running test's engine: ``tests.conftest.history_store``)."""
        options = dict(self._studio_options)
        options.setdefault("history", history_store(Path(options["data_dir"]) / "history.sqlite3"))
        return Studio(clients={self.provider: self.client}, server_provider=self.provider, clock=self.clock, **options)

    @property
    def engine(self) -> Any:
        return self.simulator.state.engine

    @property
    def created(self) -> int:
        """Tasks the simulator has created so far."""
        return int(self.engine.counters.created)
