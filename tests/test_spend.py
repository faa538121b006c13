"""The spend guard: a demo host's key never spends past its caps, on the models it allows, or at all when
visitors must bring their own key; and calling the Gradio API directly does not get around it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from studio.capabilities import OPENAI_HK
from studio.client import RunwayClient
from studio.errors import InvalidInput
from studio.forms import Form
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig
from studio.spend import SpendPolicy
from tests.appclient import latest, submit_paper_boats
from tests.conftest import serve
from tests.fakes import FakeClock, ServerThread
from tests.rigs import SimulatedStudio, paper_boats

pytestmark = pytest.mark.usefixtures("database")  # each test on SQLite and on PostgreSQL (tests/conftest.py)

SERVER_KEY = "sk-host-FAKE-0001"
FORM = paper_boats(duration=5, seed=1)


class Host(SimulatedStudio):
    """A studio on openai-hk with the host's key, answered by an in-process simulator (its proxy dialect)."""

    def __init__(
        self, data: Path, policy: SpendPolicy, *, simulator: Any = None, clock: FakeClock | None = None
    ) -> None:
        config = SimulatorConfig(pending_s=0.1, running_s=0.5, output_dir=data / "sim")
        super().__init__(data, OPENAI_HK, config, server_key=SERVER_KEY, simulator=simulator, clock=clock, spend=policy)

    async def start(
        self, visitor: str, *, visitor_key: str | None = None, form: Form = FORM, address: str | None = None
    ) -> Any:
        return await self.studio.submit(
            form, provider="openai-hk", visitor=visitor, visitor_key=visitor_key, address=address
        )


async def test_the_deployment_cap_refuses_what_would_pass_it_and_says_when_it_resets(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(deployment_daily_credits=30))
    job = await host.start("browser:alice")  # 25 credits
    assert "5 credits left today on this studio" in " ".join(map(str, job.status.notes))
    with pytest.raises(InvalidInput) as refused:
        await host.start("browser:bob")
    message = str(refused.value)
    assert "this studio's daily credit cap has 5 left" in message and "resets at 00:00 UTC (in" in message
    await job.wait_done()
    assert host.created == 1


async def test_the_visitor_cap_is_per_visitor(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(deployment_daily_credits=1000, visitor_daily_credits=25))
    await (await host.start("browser:alice")).wait_done()
    with pytest.raises(InvalidInput, match="your daily credit cap has 0 left"):
        await host.start("browser:alice")
    await (await host.start("browser:bob")).wait_done()
    assert host.created == 2


async def test_the_visitor_cap_also_holds_per_address_and_an_account_is_counted_by_account(tmp_path: Path) -> None:
    """New visitors from one address share its cap; another address, or a signed-in account, has its own."""
    host = Host(tmp_path, SpendPolicy(visitor_daily_credits=25))
    await (await host.start("browser:alice", address="198.51.100.1")).wait_done()
    with pytest.raises(InvalidInput, match="your daily credit cap has 0 left"):
        await host.start("session:made-up", address="198.51.100.1")
    await (await host.start("browser:bob", address="198.51.100.2")).wait_done()
    await (await host.start("hf:carol")).wait_done()  # signed in: no address, counted by account
    with pytest.raises(InvalidInput, match="your daily credit cap has 0 left"):
        await host.start("hf:carol", address=None)
    assert host.created == 3


async def test_caps_survive_a_restart_and_a_visitors_own_key_is_not_capped(tmp_path: Path) -> None:
    first = Host(tmp_path, SpendPolicy(deployment_daily_credits=25))
    await (await first.start("browser:alice")).wait_done()
    again = Host(tmp_path, SpendPolicy(deployment_daily_credits=25), simulator=first.simulator, clock=first.clock)
    with pytest.raises(InvalidInput, match="daily credit cap has 0 left"):
        await again.start("browser:bob")
    job = await again.start("browser:bob", visitor_key="sk-bob-own-key")  # their money, their choice
    assert (await job.wait_done()).phase == "succeeded"


async def test_concurrent_visitors_cannot_overshoot_the_cap(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(deployment_daily_credits=60))
    results = await asyncio.gather(*(host.start(f"browser:v{i}") for i in range(6)), return_exceptions=True)
    started = [r for r in results if not isinstance(r, BaseException)]
    assert len(started) == 2 and all(isinstance(r, InvalidInput) for r in results if r not in started)
    await asyncio.gather(*(job.wait_done() for job in started))
    assert host.created == 2


async def test_only_allowed_models_run_on_the_server_key(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(allowed_models=frozenset({"act_two"})))
    with pytest.raises(InvalidInput, match="gen4_turbo is not allowed with this studio's key. Allowed: act_two"):
        await host.start("browser:alice")
    assert host.created == 0


def test_visitors_must_bring_their_own_key_when_the_host_says_so(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(visitor_key_required=True))
    with pytest.raises(InvalidInput, match="use their own API key"):
        host.studio.key_for("openai-hk", None)
    assert host.studio.key_for("openai-hk", "sk-own") == ("sk-own", "your key")


async def test_a_request_refused_before_creation_costs_nothing(tmp_path: Path) -> None:
    host = Host(tmp_path, SpendPolicy(deployment_daily_credits=25))
    refuse = httpx.MockTransport(lambda request: httpx.Response(401, json={"error": "Invalid API key"}))
    host.studio.clients = {"openai-hk": RunwayClient(provider=OPENAI_HK, base_url="http://x", transport=refuse)}
    status = await (await host.start("browser:alice")).wait_done()
    assert status.phase == "failed" and "refused the API key" in str(status.message)
    budget = await host.studio.budget_text("browser:alice")
    assert "25 credits left today" in str(budget)


def test_the_gradio_api_cannot_get_around_the_cap(tmp_path: Path) -> None:
    """A script calling the launched studio's API directly meets the same cap as the page."""
    simulator = create_app(SimulatorConfig(pending_s=0.2, running_s=0.8, output_dir=tmp_path / "sim"))
    with ServerThread(simulator) as base_url:
        env = {
            "STUDIO_PROVIDER": "openai-hk",
            "STUDIO_API_KEY": SERVER_KEY,
            "STUDIO_BASE_URL": base_url + "/runwayml",  # the proxy's dialect, as its real base URL
            "STUDIO_DATA_DIR": str(tmp_path / "data"),
            "STUDIO_DAILY_CREDIT_CAP": "25",
        }
        with serve(env) as launched:
            client = Client(launched.url, verbose=False)
            statuses = []
            for _ in range(3):
                statuses.append(latest(list(submit_paper_boats(client, provider="openai-hk")), 0))
    assert 'data-phase="succeeded"' in statuses[0]
    assert all("daily credit cap has 0 left" in s for s in statuses[1:])
    assert simulator.state.engine.counters.created == 1
    assert all(SERVER_KEY not in s for s in statuses)
