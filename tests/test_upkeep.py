"""The upkeep loop a launched studio runs: freed memory handed back every tick, departed pages' sessions dropped
every minute, and a failing step never ends the loop. Time is a fake sleep that counts ticks."""

from __future__ import annotations

import asyncio
import datetime
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from studio import memory
from studio.ui import upkeep as upkeep_module
from studio.ui.gradio_compat import drop_departed_sessions
from studio.ui.upkeep import CLOSED_SESSION_TTL_S, upkeep
from studio.wiring import build_studio

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0)
LONG_AGO = NOW - datetime.timedelta(seconds=CLOSED_SESSION_TTL_S + 1)


class Holder:
    """The shape of Gradio's StateHolder that the upkeep uses."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session_data: dict[str, Any] = {}
        self.time_last_used: dict[str, datetime.datetime] = {}
        self.deleted_state: list[str] = []

    def add(self, session_id: str, *, closed: bool, last_used: datetime.datetime) -> None:
        self.session_data[session_id] = SimpleNamespace(is_closed=closed)
        self.time_last_used[session_id] = last_used

    def delete_state(self, session_id: str, expired_only: bool = False) -> None:
        self.deleted_state.append(session_id)


def test_only_pages_closed_for_the_whole_ttl_are_dropped() -> None:
    holder = Holder()
    holder.add("closed-long-ago", closed=True, last_used=LONG_AGO)
    holder.add("closed-just-now", closed=True, last_used=NOW - datetime.timedelta(minutes=5))
    holder.add("open-but-idle", closed=False, last_used=LONG_AGO - datetime.timedelta(days=1))
    assert drop_departed_sessions(holder, now=NOW, ttl_s=CLOSED_SESSION_TTL_S) == 1
    assert set(holder.session_data) == set(holder.time_last_used) == {"closed-just-now", "open-but-idle"}
    assert holder.deleted_state == ["closed-long-ago"]  # its gr.State values went through Gradio's own deletion


async def test_the_loop_trims_every_tick_drops_sessions_every_minute_and_survives_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    holder = Holder()
    holder.add("closed-long-ago", closed=True, last_used=LONG_AGO)
    trims: list[int] = []
    ticks = 0
    done = asyncio.Event()

    def trim() -> bool:
        trims.append(ticks)
        if len(trims) == 1:
            raise OSError("the first trim fails")  # the loop must carry on
        return True

    async def fake_sleep(seconds: float) -> None:
        nonlocal ticks
        assert seconds == 10.0
        ticks += 1
        if ticks > 7:
            done.set()
            await asyncio.Event().wait()  # park: the test ends the loop
        await asyncio.sleep(0)

    monkeypatch.setattr(upkeep_module, "release_free_memory", trim)
    async with upkeep(
        SimpleNamespace(state_holder=holder),
        trim_every_s=10.0,
        sessions_every_s=60.0,
        sleep=fake_sleep,
        now=lambda: NOW,
    ):
        await asyncio.wait_for(done.wait(), timeout=10)
        assert trims == [1, 2, 3, 4, 5, 6, 7]  # every tick, including after the one that failed
        assert holder.session_data == {}  # dropped on the sixth tick (60 s)


def test_release_free_memory_answers_on_any_platform() -> None:
    assert memory.release_free_memory() in (True, False)  # glibc releases; elsewhere a no-op, never an error


def test_the_session_cap_is_a_setting_the_launch_passes_to_gradio(tmp_path: Any) -> None:
    from studio.settings import DEFAULT_MAX_SESSIONS, Settings, SettingsError
    from studio.ui.app import launch_options

    assert Settings.from_env({}).max_sessions == DEFAULT_MAX_SESSIONS == 1000  # not Gradio's 10,000
    assert Settings.from_env({"STUDIO_MAX_SESSIONS": "250"}).max_sessions == 250
    with pytest.raises(SettingsError, match="STUDIO_MAX_SESSIONS"):
        Settings.from_env({"STUDIO_MAX_SESSIONS": "0"})
    studio = build_studio(Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path)}))
    options = launch_options(studio, max_upload_mb=10, max_sessions=250)
    assert options["state_session_capacity"] == 250
