"""History: nothing paid for is ever forgotten. Rows before the create call, each state once, outputs vaulted,
unfinished tasks resumed, settings reused exactly, lineage recorded, and each visitor sees only their own."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from studio.capabilities import SIMULATOR, SIMULATOR_RUNWAY, ProviderSpec
from studio.db import SqliteDatabase
from studio.forms import Form, KeyframeInput, MediaInput
from studio.history import MIGRATIONS, migrate, script_for
from studio.simulator.config import SimulatorConfig
from tests.conftest import ASSETS, history_store
from tests.rigs import SimulatedStudio, paper_boats

pytestmark = pytest.mark.usefixtures("database")  # each test on SQLite and on PostgreSQL (tests/conftest.py)


class Rig(SimulatedStudio):
    """A studio on an in-process simulator, both on one fake clock."""

    def __init__(
        self,
        tmp: Path,
        *,
        ttl: float = 3600.0,
        before_create: Any = None,
        provider: ProviderSpec = SIMULATOR,
        store: Any = None,
    ) -> None:
        self.before_create = before_create
        config = SimulatorConfig(pending_s=0.5, running_s=2.0, output_ttl_s=ttl, output_dir=tmp / "sim")
        super().__init__(tmp / "data", provider, config, store=store)

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport if self.before_create is None else _Spy(transport, self.before_create)

    async def generate(self, form: Form, *, visitor: str = "browser:alice", parent: str | None = None) -> Any:
        job = await self.studio.submit(
            form, provider=self.provider, visitor=visitor, visitor_key=None, parent_id=parent
        )
        return await job.wait_done()


class _Spy(httpx.AsyncBaseTransport):
    """Runs ``before_create`` when the create request is about to be sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport, before_create: Any) -> None:
        self.inner, self.before_create = inner, before_create

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.before_create(request)
        return await self.inner.handle_async_request(request)


@pytest.mark.sqlite_only
async def test_the_row_exists_before_the_create_call_is_sent(tmp_path: Path) -> None:
    seen: list[list[tuple[str, str | None]]] = []

    def check(_: httpx.Request) -> None:
        db = sqlite3.connect(rig.studio.history.path)
        seen.append(db.execute("SELECT status, task_id FROM generations").fetchall())

    rig = Rig(tmp_path, before_create=check)
    status = await rig.generate(paper_boats())
    assert status.phase == "succeeded"
    assert seen == [[("submitting", None)]]  # written, not yet with a task id, when the POST left


async def test_each_state_is_recorded_once_in_order_with_the_output(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    status = await rig.generate(paper_boats(prompt="boats"))
    row = rig.studio.history.get(status.generation_id)
    changes = [c.status for c in rig.studio.history.changes(status.generation_id)]
    assert changes == ["submitting", "queued", "running", "downloading", "succeeded"]
    assert row.task_id == status.task_id and row.estimated_credits == 25 and row.actual_credits == 25
    assert Path(row.output_path).is_file() and Path(row.poster_path).is_file()
    assert "simulator" not in json.dumps(row.form)  # the form is kept, never a key


async def test_the_vault_copy_plays_after_the_provider_link_expired(tmp_path: Path) -> None:
    rig = Rig(tmp_path, ttl=30.0)
    status = await rig.generate(paper_boats())
    task = rig.engine.tasks[status.task_id]
    rig.clock.advance(60)  # past the output link's lifetime
    link = rig.engine.snapshot(task, output_url=lambda t: f"http://sim/_simulator/outputs/{t.id}.mp4?expires=1&sig=x")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rig.simulator), base_url="http://sim") as http:
        assert (await http.get(link["output"][0])).status_code == 403
    with av.open(str(status.video)) as clip:
        stream = clip.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (960, 960)
        assert sum(1 for _ in clip.decode(stream)) == 5 * int(stream.average_rate)


async def test_an_unfinished_task_is_resumed_by_the_reconciler(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    job = await rig.studio.submit(paper_boats(), provider="simulator", visitor="browser:alice", visitor_key=None)
    while job.task_id is None:
        await asyncio.sleep(0.001)
    job._runner.cancel()  # the studio "dies" while the task runs: nobody follows it any more
    await asyncio.sleep(0)
    fresh = rig.restarted()
    assert await fresh.reconcile() == 1
    done = await fresh.live_job(visitor="browser:alice", endpoint="image_to_video").wait_done()
    assert done.phase == "succeeded" and rig.engine.counters.created == 1  # resumed, not re-sent
    assert fresh.history.get(job.generation_id).status == "succeeded"


async def test_a_create_cut_short_is_marked_as_may_exist_not_left_running(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    history = rig.studio.history
    from studio.history import NewGeneration

    gen = history.add(
        NewGeneration(
            visitor="v",
            provider="simulator",
            endpoint="image_to_video",
            model="gen4_turbo",
            form={},
            estimated_credits=25,
            key_source="simulator",
            seed=1,
            output_seconds=5,
        )
    )
    await rig.studio.reconcile()
    row = history.get(gen.id)
    assert row.status == "failed" and row.failure_code == "STUDIO.MAY_EXIST" and "may exist" in row.failure_reason


FORMS: list[Form] = [
    Form.of(
        "image_to_video",
        model="gen3a_turbo",
        ratio="768:1280",
        first=MediaInput(path=str(ASSETS / "lighthouse_dawn.jpg")),
        last=MediaInput(path=str(ASSETS / "lighthouse_dusk.jpg")),
        prompt_text="dawn to dusk ✨",
        duration=10,
        seed=123,
        fit="pad",
        watermark=True,
        notify_hook="https://hooks.example.com/done",
    ),
    Form.of(
        "video_to_video",
        model="gen4_aleph",
        ratio="848:480",
        video=MediaInput(path=str(ASSETS / "city_drive.mp4")),
        reference=MediaInput(path=str(ASSETS / "watercolor_reference.jpg")),
        prompt_text="watercolour",
        seed=9,
        threshold="low",
    ),
    Form.of(
        "character_performance",
        model="act_two",
        ratio="960:960",
        character=MediaInput(path=str(ASSETS / "robot_wave.mp4")),
        character_type="video",
        reference=MediaInput(path=str(ASSETS / "nodding_performance.mp4")),
        body_control=False,
        expression_intensity=5,
        seed=42,
        threshold="low",
    ),
]


# The official API's models, each with every field it adds (on the simulator's official dialect).
OFFICIAL_FORMS = [
    Form.of(
        "image_to_video",
        model="veo3.1",
        ratio="1280:720",
        first=MediaInput(path=str(ASSETS / "lighthouse_dawn.jpg")),
        last=MediaInput(path=str(ASSETS / "lighthouse_dusk.jpg")),
        prompt_text="dawn turns to dusk",
        duration=4,
        audio=False,
        negative_prompt="blur, text",
        seed=5,
    ),
    Form.of("text_to_video", model="gen4.5", ratio="720:1280", prompt_text="a paper lantern", duration=2, seed=8),
    Form.of(
        "video_to_video",
        model="aleph2",
        video=MediaInput(path=str(ASSETS / "city_drive.mp4")),
        keyframes=[
            KeyframeInput(MediaInput(path=str(ASSETS / "watercolor_reference.jpg")), seconds=0.5),
            KeyframeInput(MediaInput(path=str(ASSETS / "lighthouse_dusk.jpg")), at=0.9),
        ],
        target_aspect_ratio="9:16",
        prompt_text="watercolour",
        seed=9,
    ),
    # A finishing pass: enhance_frame_rate takes no seed, so none is chosen or kept.
    Form.of(
        "video_upscale",
        model="enhance_frame_rate",
        video=MediaInput(path=str(ASSETS / "city_drive.mp4")),
        target_framerate="30",
        seed=None,
    ),
]


def _same_input(again: MediaInput, value: MediaInput, rig: Rig) -> bool:
    """A media input came back: the kept copy has the same bytes."""
    assert again.path is not None and value.path is not None
    return Path(again.path).read_bytes() == Path(value.path).read_bytes() and Path(again.path).is_relative_to(
        rig.studio.inputs
    )


@pytest.mark.parametrize(
    ("provider", "form"),
    [(SIMULATOR, f) for f in FORMS] + [(SIMULATOR_RUNWAY, f) for f in OFFICIAL_FORMS],
    ids=lambda x: getattr(x, "endpoint", "") + ("/" + x.model if isinstance(x, Form) else ""),
)
async def test_reuse_settings_round_trips_every_field(tmp_path: Path, provider: ProviderSpec, form: Form) -> None:
    rig = Rig(tmp_path, provider=provider)
    status = await rig.generate(form)
    assert status.phase == "succeeded", status.message
    reused = await rig.studio.reuse(status.generation_id, visitor="browser:alice")
    assert reused is not None and reused.form.endpoint == form.endpoint
    assert set(reused.form.values) == set(form.values)
    for name, value in form.values.items():
        again = reused.form.values[name]
        if isinstance(value, MediaInput):
            assert _same_input(again, value, rig), name
        elif name == "keyframes":
            assert [replace(k, image=MediaInput()) for k in again] == [replace(k, image=MediaInput()) for k in value]
            assert all(_same_input(a.image, v.image, rig) for a, v in zip(again, value, strict=True))
        else:
            assert again == value, name


async def test_a_chain_of_three_records_its_lineage(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    first = await rig.generate(paper_boats())
    frame = await rig.studio.last_frame(first.video)
    second = await rig.generate(paper_boats(first=MediaInput(path=str(frame))), parent=first.generation_id)
    third = await rig.generate(
        Form.of(
            "video_to_video",
            model="gen4_aleph",
            ratio="960:960",
            video=MediaInput(path=str(second.video)),
            prompt_text="paint it",
            seed=3,
        ),
        parent=second.generation_id,
    )
    chain = await rig.studio.lineage(third.generation_id, visitor="browser:alice")
    assert [g.id for g in chain] == [first.generation_id, second.generation_id, third.generation_id]
    assert [g.endpoint for g in chain] == ["image_to_video", "image_to_video", "video_to_video"]


async def test_visitors_see_and_touch_only_their_own(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    mine = await rig.generate(paper_boats(), visitor="browser:alice")
    assert [g.id for g in await rig.studio.history_of("browser:alice")] == [mine.generation_id]
    assert await rig.studio.history_of("browser:bob") == []
    assert await rig.studio.generation(mine.generation_id, visitor="browser:bob") is None
    assert await rig.studio.reuse(mine.generation_id, visitor="browser:bob") is None
    assert not await rig.studio.delete(mine.generation_id, visitor="browser:bob")
    assert not await rig.studio.star(mine.generation_id, visitor="browser:bob", starred=True)
    assert await rig.studio.download_path(mine.generation_id, visitor="browser:bob") is None
    assert (await rig.studio.compare([mine.generation_id], visitor="browser:bob")).generations == []
    assert not rig.studio.owns_file(str(mine.video), visitor="browser:bob")
    assert await rig.studio.delete(mine.generation_id, visitor="browser:alice")
    assert await rig.studio.history_of("browser:alice") == []  # hidden at once
    assert not await rig.studio.restore(mine.generation_id, visitor="browser:bob")
    assert await rig.studio.purge_deleted(visitor="browser:alice", generation_id=mine.generation_id, at_once=True) == 1
    assert not mine.video.exists() and not await rig.studio.restore(mine.generation_id, visitor="browser:alice")


def test_migrations_run_twice_are_a_no_op(tmp_path: Path) -> None:
    store = history_store(tmp_path / "h.sqlite3")
    assert store.applied == [name for name, _ in MIGRATIONS]
    store.close()
    again = history_store(tmp_path / "h.sqlite3")
    assert again.applied == []


@pytest.mark.sqlite_only
def test_a_database_from_the_first_schema_migrates_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    name, script = MIGRATIONS[0]
    db.executescript(script_for(script, "sqlite"))
    db.execute("INSERT INTO migrations VALUES (?, 0)", (name,))
    db.execute(
        "INSERT INTO generations (id, visitor, provider, endpoint, model, form, status, created_at, updated_at) "
        "VALUES ('old', 'browser:alice', 'openai-hk', 'image_to_video', 'gen4_turbo', '{\"prompt\": \"hi\"}', "
        "'succeeded', 1, 1)"
    )
    db.close()
    store = history_store(path)
    assert store.applied == [n for n, _ in MIGRATIONS[1:]]
    old = store.get("old")
    assert old is not None and old.prompt == "hi" and old.key_source == "server key" and old.parent_id is None
    assert old.form == {"prompt_text": "hi"}  # 0004: named as the request's field


@pytest.mark.sqlite_only
def test_migrate_is_idempotent_on_one_connection(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.sqlite3")
    assert len(migrate(db)) == len(MIGRATIONS) and migrate(db) == []


async def test_ended_jobs_do_not_pile_up_in_memory(tmp_path: Path) -> None:
    """A public studio runs for weeks: only each visitor's latest job per tab stays in memory (for its page to
    re-attach), and even that goes after an hour. The rest lives in history."""
    from studio.service import JOB_RETENTION_S

    rig = Rig(tmp_path)
    for visitor in ("browser:alice", "browser:bob"):
        for seed in range(4):
            status = await rig.generate(paper_boats(seed=seed), visitor=visitor)
            assert status.phase == "succeeded"
    assert rig.studio.jobs_in_memory <= 2 + 1  # each visitor's latest; the newest start pruned all but those
    latest = rig.studio.live_job(visitor="browser:alice", endpoint="image_to_video")
    assert latest is not None and latest.status.phase == "succeeded"  # a reopened page still re-attaches
    assert len(rig.studio.history.for_visitor("browser:alice")) == 4  # nothing made is forgotten

    rig.clock.advance(JOB_RETENTION_S + 1)
    await rig.generate(paper_boats(seed=9), visitor="browser:carol")
    assert rig.studio.jobs_in_memory == 1  # only carol's, just ended
    assert rig.studio.live_job(visitor="browser:alice", endpoint="image_to_video") is None
