"""Replicas that cooperate on one history (SQLite here, PostgreSQL when shared): each unfinished generation is
followed by one replica at a time, under a lease it renews; a replica that dies is taken over once its leases
expire, and the clip still lands in History; two replicas pressing at once cannot overshoot a cap; the upkeep runs
in one replica at a time."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from studio.capabilities import OPENAI_HK, SIMULATOR
from studio.errors import InvalidInput
from studio.history import RETENTION_LEASE, HistoryStore, NewGeneration, following
from studio.phases import Phase
from studio.simulator.config import SimulatorConfig
from studio.spend import SpendGuard, SpendPolicy, SpendRefused
from tests.conftest import TEST_DATABASE_VARIABLE, history_store
from tests.fakes import FakeClock
from tests.rigs import SimulatedStudio, paper_boats

pytestmark = pytest.mark.usefixtures("database")  # each test on SQLite and on PostgreSQL (tests/conftest.py)

TTL = 30.0
SERVER_KEY = "sk-host-FAKE-0001"


def new(visitor: str = "browser:alice", **changes: Any) -> NewGeneration:
    values: dict[str, Any] = {
        "visitor": visitor,
        "provider": "openai-hk",
        "endpoint": "image_to_video",
        "model": "gen4_turbo",
        "form": {"prompt_text": "paper boats"},
        "estimated_credits": 25,
        "key_source": "server key",
        "seed": 7,
        "output_seconds": 5,
    }
    return NewGeneration(**(values | changes))


# --- leases --------------------------------------------------------------------------------------------------


def test_a_lease_is_held_by_one_owner_until_it_expires_renewed_or_released(tmp_path: Path) -> None:
    clock = FakeClock()
    a, b = history_store(tmp_path / "h.sqlite3", clock=clock), history_store(tmp_path / "h.sqlite3", clock=clock)
    assert a.take_lease("x", owner="A", ttl_s=TTL)
    assert not b.take_lease("x", owner="B", ttl_s=TTL)  # A holds it
    assert a.take_lease("x", owner="A", ttl_s=TTL)  # its own: taken again (renewed)
    clock.advance(TTL - 1)
    assert a.renew_lease("x", owner="A", ttl_s=TTL)  # now until 2*TTL - 1 from the start
    clock.advance(TTL - 1)
    assert not b.take_lease("x", owner="B", ttl_s=TTL) and a.lease_holder("x") == "A"  # renewal kept it
    clock.advance(2)
    assert a.lease_holder("x") is None  # expired
    assert b.take_lease("x", owner="B", ttl_s=TTL) and a.lease_holder("x") == "B"
    assert not a.renew_lease("x", owner="A", ttl_s=TTL)  # lost: A learns another replica has it
    a.release_lease("x", owner="A")  # not A's to release
    assert b.lease_holder("x") == "B"
    b.release_lease("x", owner="B")
    assert a.take_lease("x", owner="A", ttl_s=TTL)  # free again
    a.close(), b.close()


def test_of_many_replicas_claiming_at_once_exactly_one_gets_the_lease(tmp_path: Path) -> None:
    stores = [history_store(tmp_path / "h.sqlite3") for _ in range(4)]
    try:
        for round_ in range(5):
            name = f"race{round_}"
            with ThreadPoolExecutor(len(stores)) as pool:
                claims = [
                    pool.submit(store.take_lease, name, owner=f"R{i}", ttl_s=TTL) for i, store in enumerate(stores)
                ]
                taken = [claim.result() for claim in claims]
            assert taken.count(True) == 1, taken
    finally:
        for store in stores:
            store.close()


def test_an_ended_generation_gives_its_lease_back(tmp_path: Path) -> None:
    store = history_store(tmp_path / "h.sqlite3")
    row = store.add(new(), owner="A", lease_s=TTL)
    assert store.lease_holder(following(row.id)) == "A"
    store.record(row.id, Phase.RUNNING)
    assert store.lease_holder(following(row.id)) == "A"
    store.record(row.id, Phase.SUCCEEDED)
    assert store.lease_holder(following(row.id)) is None
    store.close()


# --- two replicas on one history and one provider -----------------------------------------------------------


class Replica(SimulatedStudio):
    """One replica of the studio: its own data dir, the shared history (on the fake clock) and simulator."""

    def __init__(self, tmp: Path, name: str, *, other: Replica | None = None, running_s: float = 2.0, **options: Any):
        config = SimulatorConfig(pending_s=0.5, running_s=running_s, output_dir=tmp / "sim")
        clock = other.clock if other else FakeClock(real_pause=0.002)
        # The caps count today's rows: a spend test's history keeps the wall clock.
        history = history_store(tmp / "shared.sqlite3", clock=time.time if options.pop("wall", False) else clock)
        super().__init__(
            tmp / name,
            options.pop("provider", SIMULATOR),
            config,
            simulator=other.simulator if other else None,
            clock=clock,
            history=history,
            replica_id=name,
            lease_ttl_s=TTL,
            **options,
        )


async def until(condition: Any) -> None:
    for _ in range(20_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def test_a_replica_that_dies_is_taken_over_after_its_lease_expires_and_the_clip_lands(tmp_path: Path) -> None:
    a = Replica(tmp_path, "A")
    b = Replica(tmp_path, "B", other=a)
    job = await a.studio.submit(paper_boats(), provider="simulator", visitor="browser:alice", visitor_key=None)
    await until(lambda: job.task_id is not None)
    job._runner.cancel()  # replica A dies: nobody follows the task any more, its lease is not renewed
    await asyncio.sleep(0)
    assert await b.studio.reconcile() == 0  # A's lease still holds: B leaves it alone (nor marks it failed)
    assert a.studio.history.get(job.generation_id).status not in ("failed", "succeeded")
    a.clock.advance(TTL + 1)
    assert await b.studio.reconcile() == 1  # expired: B takes it over
    assert b.studio.history.lease_holder(following(job.generation_id)) == "B"
    taken = b.studio.live_job(visitor="browser:alice", endpoint="image_to_video")
    assert taken is not None and (await taken.wait_done()).phase == "succeeded"
    row = b.studio.history.get(job.generation_id)
    assert row.status == "succeeded" and Path(row.output_path).is_file()
    assert Path(row.output_path).is_relative_to(tmp_path / "B")  # B kept the clip
    assert a.created == 1  # one task at the provider: taking over never sends it again
    assert await a.studio.reconcile() == 0  # nothing left for anyone


async def test_a_task_made_with_a_visitors_own_key_is_left_for_the_replica_the_visitor_comes_back_to(
    tmp_path: Path,
) -> None:
    """A replica cannot follow a task made with a visitor's own key (keys are never stored): its reconciler must not
    keep the task's lease, or no other replica could follow it when the visitor returns there with the key."""
    a = Replica(tmp_path, "A")
    b = Replica(tmp_path, "B", other=a)
    row = a.studio.history.add(new(provider="simulator", key_source="your key"), owner="gone", lease_s=TTL)
    a.studio.history.set_task(row.id, "task-of-a-visitors-key")
    a.clock.advance(TTL + 1)  # the replica that made it is gone
    assert await a.studio.reconcile() == 0  # A has no key for it
    assert a.studio.history.lease_holder(following(row.id)) is None  # and does not sit on its lease
    assert await b.studio.history.run(b.studio.history.take_lease, following(row.id), owner="B", ttl_s=TTL)


async def test_a_replica_following_a_long_task_keeps_its_lease_and_no_other_takes_over(tmp_path: Path) -> None:
    a = Replica(tmp_path, "A", running_s=4 * TTL)
    b = Replica(tmp_path, "B", other=a)
    job = await a.studio.submit(paper_boats(), provider="simulator", visitor="browser:alice", visitor_key=None)
    await until(lambda: a.clock.elapsed > 3 * TTL)  # A's job polls (and renews) as the fake time goes by
    assert not job.status.final
    assert await b.studio.reconcile() == 0  # renewed as A's job went: still A's
    assert b.studio.history.lease_holder(following(job.generation_id)) == "A"
    assert (await job.wait_done()).phase == "succeeded"
    assert a.created == 1 and b.studio.jobs_in_memory == 0


async def test_a_restarted_replica_takes_its_own_work_back_at_once(tmp_path: Path) -> None:
    a = Replica(tmp_path, "A")
    job = await a.studio.submit(paper_boats(), provider="simulator", visitor="browser:alice", visitor_key=None)
    await until(lambda: job.task_id is not None)
    job._runner.cancel()
    await asyncio.sleep(0)
    again = a.restarted()  # the same replica id (STUDIO_REPLICA_ID, or host and data dir on SQLite)
    assert await again.reconcile() == 1


async def test_two_replicas_pressing_at_once_cannot_overshoot_a_visitor_cap(tmp_path: Path) -> None:
    policy = SpendPolicy(visitor_daily_credits=25)  # one 5 s gen4_turbo clip
    host = {"provider": OPENAI_HK, "server_key": SERVER_KEY, "spend": policy, "wall": True}
    a = Replica(tmp_path, "A", **host)
    b = Replica(tmp_path, "B", other=a, **host)
    checked = a.studio.guard.check

    def slow_check(**kwargs: Any) -> None:  # A checks, then dawdles before its row is written: B presses meanwhile
        checked(**kwargs)
        time.sleep(0.3)

    a.studio.guard.check = slow_check  # type: ignore[method-assign]
    form = paper_boats(duration=5, seed=1)

    async def press(replica: Replica, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await replica.studio.submit(form, provider="openai-hk", visitor="browser:alice", visitor_key=None)

    results = await asyncio.gather(press(a, 0), press(b, 0.1), return_exceptions=True)
    started = [r for r in results if not isinstance(r, BaseException)]
    assert len(started) == 1, results
    assert all(isinstance(r, InvalidInput) for r in results if r not in started)
    await started[0].wait_done()
    assert a.created == 1


def test_the_spend_check_and_its_rows_are_one_transaction_across_stores(tmp_path: Path) -> None:
    """Store level: two stores (two replicas' connections), each checks then inserts; the first dawdles between."""
    policy = SpendPolicy(deployment_daily_credits=30)
    stores = [history_store(tmp_path / "h.sqlite3"), history_store(tmp_path / "h.sqlite3")]

    def press(store: HistoryStore, pause: float, delay: float) -> bool:
        time.sleep(delay)
        guard = SpendGuard(policy, store)

        def check() -> None:
            guard.check(visitor="browser:alice", model="gen4_turbo", credits=25, key_source="server key")
            time.sleep(pause)

        try:
            store.add_checked([new()], check, owner=f"R{delay}", lease_s=TTL)
        except SpendRefused:
            return False
        return True

    try:
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.submit(press, stores[0], 0.3, 0), pool.submit(press, stores[1], 0, 0.1)
            assert sorted([first.result(), second.result()]) == [False, True]
        assert stores[0].server_key_credits_since(0) == 25
    finally:
        for store in stores:
            store.close()


async def test_the_upkeep_runs_in_one_replica_at_a_time(tmp_path: Path) -> None:
    a = Replica(tmp_path, "A")
    b = Replica(tmp_path, "B", other=a)
    assert await a.studio.upkeep() is True
    assert await b.studio.upkeep() is False  # A holds the retention lease
    assert a.studio.history.lease_holder(RETENTION_LEASE) == "A"
    a.clock.advance(60)
    assert await b.studio.upkeep() is False
    assert await a.studio.upkeep() is True  # A renews it as it goes
    a.clock.advance(1000)  # A died: its lease ran out
    assert await b.studio.upkeep() is True
    assert await a.studio.upkeep() is False


async def test_a_replica_that_finds_its_generation_taken_over_stops_following_it(tmp_path: Path) -> None:
    """A replica that stalled past its lease (another took the generation over) stops following it: the other one
    records it now. The page is told; History is left to the other replica."""
    a = Replica(tmp_path, "A", running_s=4 * TTL)
    b = Replica(tmp_path, "B", other=a)
    job = await a.studio.submit(paper_boats(), provider="simulator", visitor="browser:alice", visitor_key=None)
    await until(lambda: job.task_id is not None)
    name = following(job.generation_id)
    b.studio.history.release_lease(name, owner="A")  # as if A's lease had run out while it stalled ...
    assert b.studio.history.take_lease(name, owner="B", ttl_s=TTL)  # ... and B took the generation over
    status = await job.wait_done()
    assert status.phase == "interrupted" and status.message_key == "job.followed_elsewhere"
    assert a.studio.history.get(job.generation_id).status != "interrupted"  # A wrote nothing of it to History
    assert a.created == 1


@pytest.mark.postgresql_only
def test_a_store_reconnects_when_its_postgresql_connection_was_cut(tmp_path: Path) -> None:
    import psycopg

    store = history_store(tmp_path / "h.sqlite3")
    row = store.add(new())
    admin_url = os.environ[TEST_DATABASE_VARIABLE]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database() AND query NOT LIKE '%pg_stat_activity%'"
        ).fetchall()
    assert cut  # the store's connection was among them
    assert store.get(row.id) is not None  # connected again, at the next transaction
