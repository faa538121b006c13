"""The account on the official API: the balance in Settings (asked at most once a minute), what a task was really
charged in its status and in History, and the spend guard counting that real cost."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from studio.capabilities import RUNWAY
from studio.errors import InvalidInput
from studio.simulator.config import SimulatorConfig
from studio.spend import SpendPolicy
from studio.ui.app import balance_text
from studio.ui.gallery import details_markdown
from studio.ui.status import status_html
from tests.rigs import SimulatedStudio, paper_boats

SERVER_KEY = "sk-host-FAKE-0002"
FORM = paper_boats(ratio="1280:720", duration=5, seed=1)


class Official(SimulatedStudio):
    """A studio on Runway's official API with the host's key, answered by the simulator's official dialect."""

    def __init__(self, data: Path, policy: SpendPolicy | None = None, *, running_s: float = 0.5) -> None:
        config = SimulatorConfig(pending_s=0.1, running_s=running_s, output_dir=data / "sim", starting_credits=1000)
        super().__init__(data, RUNWAY, config, server_key=SERVER_KEY, spend=policy)
        self.history = self.studio.history
        self.asked: list[str] = []

        async def count(request: httpx.Request) -> None:
            self.asked.append(request.url.path)

        self.client._http.event_hooks["request"].append(count)

    async def start(self, visitor: str = "browser:alice") -> object:
        return await self.studio.submit(FORM, provider="runway", visitor=visitor, visitor_key=None)

    def organization_calls(self) -> int:
        return self.asked.count("/v1/organization")


async def test_the_balance_is_asked_at_most_once_a_minute_and_goes_down_as_tasks_cost(tmp_path: Path) -> None:
    account = Official(tmp_path)
    before = await account.studio.balance("runway", None)
    assert before is not None and before.credit_balance == 1000
    assert "**Balance:** 1,000 credits" in balance_text(before, "en")
    account.clock.advance(59)
    assert await account.studio.balance("runway", None) == before  # asked 59 s ago: the answer is kept
    assert account.organization_calls() == 1
    account.clock.advance(2)
    await account.studio.balance("runway", None)
    assert account.organization_calls() == 2

    job = await account.start()
    assert (await job.wait_done()).phase == "succeeded"  # type: ignore[attr-defined]
    account.clock.advance(61)
    after = await account.studio.balance("runway", None)
    assert after is not None and after.credit_balance == 1000 - 25  # 5 s of gen4_turbo at 5 credits/s
    assert "**Balance:** 975 credits" in balance_text(after, "en")
    # A visitor's own key is asked about on its own, never answered from the host's.
    calls = account.organization_calls()
    await account.studio.balance("runway", "sk-visitor-FAKE")
    assert account.organization_calls() == calls + 1


async def test_no_balance_where_the_provider_has_no_such_endpoint_or_there_is_no_key(tmp_path: Path) -> None:
    account = Official(tmp_path)
    account.studio._server_key = ""
    assert await account.studio.balance("runway", None) is None  # no key: nothing to ask about
    assert account.organization_calls() == 0


async def test_the_status_and_history_show_what_was_really_charged(tmp_path: Path) -> None:
    account = Official(tmp_path)
    job = await account.start()
    live = await anext(s async for s in job.follow() if s.task_id)  # type: ignore[attr-defined]
    assert live.provider_estimate == 25 and "about 25 credits" in status_html(live, "en")
    done = await job.wait_done()  # type: ignore[attr-defined]
    assert done.credits == 25 and "25 credits charged" in status_html(done, "en")
    assert "已扣除 25 积分" in status_html(done, "zh-CN")
    row = account.history.get(done.generation_id)
    assert row is not None and row.actual_credits == 25
    assert "25 credits charged" in details_markdown(row, [row], "en")


async def test_a_cancelled_task_shows_it_was_refunded_and_the_cap_gets_its_credits_back(tmp_path: Path) -> None:
    account = Official(tmp_path, SpendPolicy(deployment_daily_credits=50), running_s=30)
    first = await account.start()
    second = await account.start("browser:bob")
    with pytest.raises(InvalidInput, match="daily credit cap has 0 left"):
        await account.start("browser:carol")  # two estimates of 25 fill the cap while they run
    await first.cancel()  # type: ignore[attr-defined]
    cancelled = await first.wait_done()  # type: ignore[attr-defined]
    assert cancelled.phase == "cancelled" and cancelled.credits == 0
    assert "refunded (0 credits)" in status_html(cancelled, "en")
    row = account.history.get(cancelled.generation_id)
    assert row is not None and row.actual_credits == 0 and "refunded" in details_markdown(row, [row], "en")
    # The guard counts what was really charged: the refunded 25 are free again.
    third = await account.start("browser:carol")
    await second.cancel()  # type: ignore[attr-defined]
    await third.cancel()  # type: ignore[attr-defined]
