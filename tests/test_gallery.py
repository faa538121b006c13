"""History as a gallery, below the page: a page at a time from the index (never every row), filters and search,
stars that persist, delete with undo (soft delete, purged after the window, across a restart), readable download
names, the settings diff of compared clips, and tiles that say what a generation is."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from studio.compare import settings_diff
from studio.forms import MediaInput
from studio.history import MIGRATIONS, Generation, HistoryFilter, HistoryStore, NewGeneration, script_for
from studio.service import Studio
from studio.ui import gallery
from studio.vault import download_name
from tests.conftest import ASSETS, Vault, history_store
from tests.fakes import FakeClock
from tests.rigs import paper_boats
from tests.test_history import Rig

pytestmark = pytest.mark.usefixtures("database")  # each test on SQLite and on PostgreSQL (tests/conftest.py)

ALICE, BOB = "browser:alice", "browser:bob"


def new(visitor: str = ALICE, **changes: Any) -> NewGeneration:
    values: dict[str, Any] = {
        "visitor": visitor,
        "provider": "simulator",
        "endpoint": "image_to_video",
        "model": "gen4_turbo",
        "form": {"model": "gen4_turbo", "prompt_text": "paper boats", "seed": 7, "ratio": "960:960"},
        "estimated_credits": 25,
        "key_source": "simulator",
        "seed": 7,
        "output_seconds": 5,
    }
    return NewGeneration(**(values | changes))


def fill(store: HistoryStore, clock: FakeClock, count: int, **changes: Any) -> list[Generation]:
    """``count`` generations, one a second apart (the last is the newest)."""
    made = []
    for _ in range(count):
        clock.advance(1)
        made.append(store.add(new(**changes)))
    return made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_780_000_000.0)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Any:
    history = history_store(tmp_path / "history.sqlite3", clock=clock)
    yield history
    history.close()


# --- pages ------------------------------------------------------------------------------------------------------


def test_a_page_is_the_next_size_rows_newest_first_with_the_counts(store: HistoryStore, clock: FakeClock) -> None:
    made = fill(store, clock, 60)
    fill(store, clock, 5, visitor=BOB)
    second = store.page(ALICE, offset=24, size=24)
    newest_first = list(reversed(made))
    assert [g.id for g in second.items] == [g.id for g in newest_first[24:48]]
    assert (second.total, second.everything, second.running) == (60, 60, 60)  # all still "submitting"
    assert [g.id for g in store.page(ALICE, offset=48, size=24).items] == [g.id for g in newest_first[48:]]
    assert store.page(BOB).total == 5 and store.page("browser:carol").items == []


@pytest.mark.sqlite_only
def test_listing_and_counting_read_the_index_not_every_row(store: HistoryStore) -> None:
    """The page, its counts and a filtered page are answered from the (visitor, deleted_at, created_at) index: a
    visitor with 10,000 generations costs a page's rows, not 10,000 (bench/history_open.py times it)."""
    db = sqlite3.connect(store.path)
    mine = "FROM generations WHERE visitor = ? AND deleted_at IS NULL"
    plans = {
        "page": f"SELECT * {mine} ORDER BY created_at DESC, rowid DESC LIMIT 24 OFFSET 48",
        "count": f"SELECT COUNT(*) {mine}",
        "filtered": f"SELECT * {mine} AND endpoint = 'x' ORDER BY created_at DESC, rowid DESC LIMIT 24",
    }
    for name, query in plans.items():
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query, ("v",)))
        assert "USING INDEX generations_listed" in plan or "USING COVERING INDEX generations_listed" in plan, (
            name,
            plan,
        )
        assert "SCAN generations" not in plan, (name, plan)


async def test_a_page_past_the_end_shows_the_last_one(tmp_path: Path, clock: FakeClock) -> None:
    studio = studio_on(tmp_path, clock)
    fill(studio.history, clock, 30)
    assert len((await studio.history_page(ALICE, page=1)).items) == 6
    late = await studio.history_page(ALICE, page=7)  # e.g. after deleting the last page's only item
    assert late.offset == 24 and len(late.items) == 6


# --- filters and search --------------------------------------------------------------------------------------------


def test_filters_by_tab_model_status_words_and_star(store: HistoryStore, clock: FakeClock) -> None:
    boats = fill(store, clock, 2, form={"prompt_text": "Paper BOATS drift at dawn"})
    lantern = fill(store, clock, 1, endpoint="text_to_video", model="gen4.5", form={"prompt_text": "a lantern"})[0]
    odd = fill(store, clock, 1, form={"prompt_text": "100% of the_boats"})[0]
    store.record(boats[0].id, "running", progress=0.3)
    store.record(boats[1].id, "failed")
    store.record(lantern.id, "succeeded")
    store.record(odd.id, "lost")

    def ids(**where: Any) -> set[str]:
        return {g.id for g in store.page(ALICE, where=HistoryFilter(**where)).items}

    assert ids(endpoint="text_to_video") == {lantern.id}
    assert ids(model="gen4_turbo") == {boats[0].id, boats[1].id, odd.id}
    assert ids(status="running") == {boats[0].id}
    assert ids(status="failed") == {boats[1].id}
    assert ids(status="cancelled") == {odd.id}  # cancelled or lost
    assert ids(status="succeeded") == {lantern.id}
    assert ids(text="boats dawn") == {b.id for b in boats}  # every word, any case
    assert ids(text="100%") == {odd.id} and ids(text="the_b") == {odd.id}  # % and _ are not wildcards
    assert ids(text="boats", endpoint="text_to_video") == set()
    assert ids(starred=True) == set()
    assert store.set_starred(lantern.id, visitor=ALICE, starred=True)
    assert not store.set_starred(lantern.id, visitor=BOB, starred=True)  # not Bob's
    assert ids(starred=True) == {lantern.id}
    found = store.page(ALICE, where=HistoryFilter(text="boats"))
    assert (found.total, found.everything) == (3, 4)
    assert store.models_of(ALICE) == ["gen4.5", "gen4_turbo"]


def test_a_star_persists_when_the_studio_restarts(tmp_path: Path, clock: FakeClock) -> None:
    store = history_store(tmp_path / "h.sqlite3", clock=clock)
    starred = store.add(new())
    store.set_starred(starred.id, visitor=ALICE, starred=True)
    store.close()
    again = history_store(tmp_path / "h.sqlite3", clock=clock)
    try:
        found = again.get(starred.id, visitor=ALICE)
        assert found is not None and found.starred
    finally:
        again.close()


# --- delete, undo, purge ------------------------------------------------------------------------------------------


def studio_on(tmp_path: Path, clock: FakeClock, *, undo_s: float = 8.0, **options: Any) -> Studio:
    """A studio with no provider behind it (History only), its store on ``clock``."""
    data = tmp_path / "data"
    return Studio(
        clients={},
        server_provider="simulator",
        server_key="",
        data_dir=data,
        history=history_store(data / "history.sqlite3", clock=clock),
        undo_s=undo_s,
        **options,
    )


def with_files(studio: Studio, **changes: Any) -> Generation:
    """A finished generation with a clip, a poster and a kept input, as the vault leaves them."""
    g = studio.history.add(new(**changes))
    clip, poster = studio.outputs / f"{g.id}.mp4", studio.outputs / f"{g.id}.jpg"
    clip.write_bytes(b"not really a video")
    poster.write_bytes(b"not really a poster")
    (studio.inputs / g.id).mkdir(parents=True)
    (studio.inputs / g.id / "first.png").write_bytes(b"input")
    studio.history.set_output(g.id, output_path=str(clip), poster_path=str(poster), actual_credits=25)
    studio.store.put(clip)  # as the vault keeps them (the input, in a folder of its own, is of an older layout)
    studio.store.put(poster)
    studio.history.record(g.id, "succeeded")
    found = studio.history.get(g.id)
    assert found is not None
    return found


async def test_a_delete_hides_at_once_can_be_undone_and_is_purged_after_the_window(
    tmp_path: Path, clock: FakeClock, vault: Vault
) -> None:
    data = tmp_path / "data"
    studio = studio_on(tmp_path, clock, undo_s=8.0, store=vault.store(data))
    kept, gone = with_files(studio), with_files(studio)
    named = await studio.download_path(gone.id, visitor=ALICE)
    assert named is not None and named.is_file()

    for g in (kept, gone):
        assert await studio.delete(g.id, visitor=ALICE) is not None
    assert (await studio.history_page(ALICE)).items == []  # hidden at once
    assert await studio.generation(gone.id, visitor=ALICE) is None
    assert not studio.owns_file(str(gone.output_path), visitor=ALICE)
    assert await studio.restore(kept.id, visitor=ALICE)  # Undo

    clock.advance(7.9)
    assert await studio.purge_deleted() == 0  # still inside the window: nothing removed
    assert Path(str(gone.output_path)).is_file()
    clock.advance(0.2)
    assert await studio.purge_deleted() == 1
    for path in (gone.output_path, gone.poster_path, named, studio.inputs / gone.id):
        assert not Path(str(path)).exists(), path
    purged = studio.history.get(gone.id)  # the row stays, hidden and emptied: what it cost still counts
    assert purged is not None and purged.purged_at is not None and purged.form == {} and purged.output_path is None
    assert [g.id for g in (await studio.history_page(ALICE)).items] == [kept.id]  # the undone one stays
    assert Path(str(kept.output_path)).is_file()
    assert not await studio.restore(gone.id, visitor=ALICE)  # too late
    if vault.bucket is not None:  # the bucket keeps the undone one's files only
        assert vault.objects() == {vault.key(data, p) for p in (kept.output_path, kept.poster_path)}


async def test_a_purged_clip_still_counts_against_the_daily_caps(tmp_path: Path, clock: FakeClock) -> None:
    studio = studio_on(tmp_path, clock, undo_s=8.0)
    spent = with_files(studio, key_source="server key")
    since = spent.created_at - 1
    assert studio.history.server_key_credits_since(since, visitor=ALICE) == 25
    await studio.delete(spent.id, visitor=ALICE)
    clock.advance(9)
    assert await studio.purge_deleted() == 1
    assert studio.history.server_key_credits_since(since, visitor=ALICE) == 25, "deleting gave the credits back"
    assert await studio.purge_deleted() == 0  # purged once: not again on every round of the reconciler


async def test_an_undo_offer_lasts_its_own_window_whatever_ran_before(tmp_path: Path, clock: FakeClock) -> None:
    """The page's Undo timer may fire on an earlier delete's schedule: the server says how long is left."""
    studio = studio_on(tmp_path, clock, undo_s=8.0)
    first, second = with_files(studio), with_files(studio)
    await studio.delete(first.id, visitor=ALICE)
    clock.advance(6)
    await studio.delete(second.id, visitor=ALICE)
    assert await studio.purge_deleted(visitor=ALICE, generation_id=first.id, at_once=True) == 1  # replaced
    clock.advance(2)  # the first delete's 8 s are over; the second's are not
    assert await studio.undo_left(second.id, visitor=ALICE) == pytest.approx(6)
    assert await studio.purge_deleted(visitor=ALICE, generation_id=second.id) == 0
    assert await studio.undo_left(second.id, visitor=BOB) is None  # only the visitor's own
    clock.advance(6)
    assert await studio.undo_left(second.id, visitor=ALICE) == 0
    assert await studio.purge_deleted(visitor=ALICE, generation_id=second.id) == 1
    assert await studio.undo_left(second.id, visitor=ALICE) is None


async def test_a_restart_keeps_an_undone_item_and_never_shows_a_deleted_one(tmp_path: Path, clock: FakeClock) -> None:
    studio = studio_on(tmp_path, clock)
    undone, deleted = with_files(studio), with_files(studio)
    await studio.delete(undone.id, visitor=ALICE)
    await studio.restore(undone.id, visitor=ALICE)
    await studio.delete(deleted.id, visitor=ALICE)
    studio.history.close()  # the studio stops inside the undo window

    again = studio_on(tmp_path, clock)
    assert [g.id for g in (await again.history_page(ALICE)).items] == [undone.id]
    assert again.history.unfinished() == []
    clock.advance(60)
    assert await again.purge_deleted() == 1  # the reconciler's loop does this at start-up and every minute
    assert not Path(str(deleted.output_path)).exists() and Path(str(undone.output_path)).exists()


async def test_a_running_generation_deleted_keeps_running_until_purged_then_is_cancelled(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.engine.config = replace(rig.engine.config, running_s=1000.0)
    job = await rig.studio.submit(paper_boats(), provider="simulator", visitor=ALICE, visitor_key=None)
    while job.task_id is None:
        await asyncio.sleep(0.001)
    assert await rig.studio.delete(job.generation_id, visitor=ALICE) is not None
    assert await rig.studio.restore(job.generation_id, visitor=ALICE)  # undone: still running, nothing cancelled
    task = rig.engine.tasks[job.task_id]
    assert not job.status.final and task.cancelled_at is None
    await rig.studio.delete(job.generation_id, visitor=ALICE)
    assert await rig.studio.purge_deleted(visitor=ALICE, generation_id=job.generation_id, at_once=True) == 1
    assert task.cancelled_at is not None  # the provider stops it: no clip is made for nobody


async def test_the_takes_of_one_press_keep_their_shared_inputs_until_the_last_is_purged(
    tmp_path: Path, vault: Vault
) -> None:
    rig = Rig(tmp_path, store=vault.store(tmp_path / "data"))
    jobs = await rig.studio.submit_takes(
        paper_boats(prompt_text="twin boats"), takes=2, provider=rig.provider, visitor=ALICE, visitor_key=None
    )
    for job in jobs:
        await job.wait_done()
    first, second = (rig.studio.history.get(job.generation_id) for job in jobs)
    assert first is not None and second is not None
    shared = Path(first.form["first"]["path"])
    assert second.form["first"]["path"] == str(shared)  # the second take uses the first one's copy

    await rig.studio.delete(first.id, visitor=ALICE)
    assert await rig.studio.purge_deleted(visitor=ALICE, generation_id=first.id, at_once=True) == 1
    assert Path(second.form["first"]["path"]).is_file(), "purging one take took the other's input"
    vault.forget_local(tmp_path / "data")  # with a bucket: as on another machine
    reuse = await rig.studio.reuse(second.id, visitor=ALICE)
    assert reuse is not None and reuse.form.media()["first"].path == str(shared) and shared.is_file()

    await rig.studio.delete(second.id, visitor=ALICE)
    assert await rig.studio.purge_deleted(visitor=ALICE, generation_id=second.id, at_once=True) == 1
    assert not shared.exists(), "the last take purged leaves its inputs behind"
    assert vault.objects() == set(), "the last take purged leaves files in the bucket"


async def test_a_new_clip_is_kept_under_its_download_name_and_purged_with_its_folder(
    tmp_path: Path, vault: Vault
) -> None:
    rig = Rig(tmp_path, store=vault.store(tmp_path / "data"))
    status = await rig.generate(paper_boats(prompt_text="Named boats at noon"))
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and row.output_path is not None
    clip = Path(row.output_path)
    assert clip.name == download_name(row) and "_gen4_turbo_named-boats-at-noon_7.mp4" in clip.name
    assert clip.parent.parent == rig.studio.outputs and len(clip.parent.name) >= 24  # an unguessable folder
    assert await rig.studio.download_path(row.id, visitor=ALICE) == clip  # no second copy
    if vault.bucket is not None:
        assert vault.key(tmp_path / "data", clip) in vault.objects()
    await rig.studio.delete(row.id, visitor=ALICE)
    assert await rig.studio.purge_deleted(visitor=ALICE, generation_id=row.id, at_once=True) == 1
    assert not clip.parent.exists()
    assert vault.objects() == set()


# --- migration ----------------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_database_from_before_the_gallery_migrates_with_its_prompts_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    before = [m for m in MIGRATIONS if m[0] < "0005"]
    for name, script in before:
        db.executescript(script_for(script, "sqlite"))
        db.execute("INSERT INTO migrations VALUES (?, 0)", (name,))
    db.execute(
        "INSERT INTO generations (id, visitor, provider, endpoint, model, form, status, created_at, updated_at) "
        "VALUES ('old', 'browser:alice', 'simulator', 'image_to_video', 'gen4_turbo', "
        "'{\"prompt_text\": \"Lighthouse at dusk\"}', 'succeeded', 1, 1)"
    )
    db.close()
    store = HistoryStore(path)
    try:
        assert store.applied == [name for name, _ in MIGRATIONS if name >= "0005"]
        old = store.get("old", visitor=ALICE)
        assert old is not None and not old.starred and old.deleted_at is None and old.prompt == "Lighthouse at dusk"
        assert [g.id for g in store.page(ALICE, where=HistoryFilter(text="lighthouse")).items] == ["old"]
    finally:
        store.close()


# --- download names -------------------------------------------------------------------------------------------------

MADE = dt.datetime(2026, 11, 29, 8, 53, 41, tzinfo=dt.timezone.utc).timestamp()


def generation(**changes: Any) -> Generation:
    values: dict[str, Any] = {
        "id": "g1",
        "visitor": ALICE,
        "provider": "simulator",
        "endpoint": "image_to_video",
        "model": "gen4_turbo",
        "form": {"prompt_text": "Paper boats drift across a pond"},
        "status": "succeeded",
        "created_at": MADE,
        "updated_at": MADE,
        "seed": 42,
    }
    return Generation(**(values | changes))


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({}, "20261129-0853_gen4_turbo_paper-boats-drift-across-a-pond_42.mp4"),
        ({"form": {}}, "20261129-0853_gen4_turbo_42.mp4"),  # no prompt: that part is left out
        ({"form": {"prompt_text": "纸船在池塘上漂流"}}, "20261129-0853_gen4_turbo_42.mp4"),  # nothing ASCII in it
        (
            {"form": {"prompt_text": "Café crème, s'il vous plaît!"}},
            "20261129-0853_gen4_turbo_cafe-creme-s-il-vous-plait_42.mp4",
        ),
        ({"model": "veo3.1", "seed": None}, "20261129-0853_veo3.1_paper-boats-drift-across-a-pond.mp4"),
        ({"form": {"prompt_text": "A " * 3 + "supercalifragilisticexpialidocious " * 3}}, None),
        ({"model": "../../etc/passwd"}, "20261129-0853_etc-passwd_paper-boats-drift-across-a-pond_42.mp4"),
    ],
)
def test_a_download_is_named_by_its_time_model_prompt_and_seed(changes: dict[str, Any], name: str | None) -> None:
    made = download_name(generation(**changes))
    if name is not None:
        assert made == name
    assert len(made) <= 80 and "/" not in made and made.isascii() and made.endswith(".mp4")


async def test_the_named_clip_is_the_visitors_own_and_lies_in_a_served_folder(
    tmp_path: Path, clock: FakeClock, vault: Vault
) -> None:
    studio = studio_on(tmp_path, clock, store=vault.store(tmp_path / "data"))
    g = with_files(studio, form={"prompt_text": "Paper boats"}, seed=42)
    vault.forget_local(tmp_path / "data")  # with a bucket: the clip was made on another machine
    assert await studio.download_path(g.id, visitor=BOB) is None
    named = await studio.download_path(g.id, visitor=ALICE)
    assert named is not None and named.name == download_name(g)
    assert named.read_bytes() == Path(str(g.output_path)).read_bytes()
    assert named.is_relative_to(studio.outputs)  # launch_options allows outputs: Gradio can serve it
    assert os.stat(named).st_ino == os.stat(str(g.output_path)).st_ino  # a link, not a second copy
    assert await studio.download_path(g.id, visitor=ALICE) == named  # made once
    if vault.bucket is not None:  # kept for the other replicas, whose links to it may be asked of them
        assert vault.key(tmp_path / "data", named) in vault.objects()


# --- compare ----------------------------------------------------------------------------------------------------


def test_the_diff_marks_what_differs_and_compares_inputs_by_content(tmp_path: Path) -> None:
    boats, dawn = tmp_path / "a.png", tmp_path / "b.png"
    boats.write_bytes((ASSETS / "paper_boats.png").read_bytes())
    dawn.write_bytes((ASSETS / "lighthouse_dawn.jpg").read_bytes())
    same_as_boats = tmp_path / "copy.png"
    same_as_boats.write_bytes(boats.read_bytes())

    def form(first: Path, **values: Any) -> dict[str, Any]:
        base = {"model": "gen4_turbo", "ratio": "960:960", "first": MediaInput(path=str(first)).to_dict()}
        return base | {"notify_hook": "https://hooks.example.com/x"} | values

    rows = settings_diff(
        [
            generation(
                id="a", form=form(boats, prompt_text="boats", duration=5, last={"path": None, "url": None}), seed=1
            ),
            generation(id="b", form=form(same_as_boats, prompt_text="boats", duration=10), seed=2),
            generation(id="c", form=form(dawn, prompt_text="dawn", duration=5, watermark=True), seed=1),
        ]
    )
    by_name = {row.name: row for row in rows}
    assert [row.name for row in rows][:6] == ["endpoint", "model", "prompt_text", "seed", "duration", "ratio"]
    assert {name for name, row in by_name.items() if row.differs} == {
        "prompt_text",
        "seed",
        "duration",
        "first",
        "watermark",
    }
    assert by_name["first"].values == ("A", "A", "B") and by_name["first"].label == "First frame"
    assert by_name["watermark"].values == (None, None, True)
    assert by_name["endpoint"].values == ("Image to Video",) * 3 and by_name["endpoint"].label == "Tab"
    assert "notify_hook" not in by_name  # the host's business, not the clip's
    assert "last" not in by_name  # a media input given neither as a file nor as a link is not set


def test_the_compare_view_names_the_differences_in_the_visitors_language(tmp_path: Path) -> None:
    from studio.service import Comparison

    a = generation(id="a", form={"prompt_text": "boats", "duration": 5}, seed=1)
    b = generation(id="b", form={"prompt_text": "dawn", "duration": 5}, seed=2, output_path=None)
    comparison = Comparison([a, b], settings_diff([a, b]))
    page = gallery.compare_html(
        comparison, {"a": "/data/outputs/named/a/x.mp4", "b": None}, "zh-CN", link=lambda p: "gradio_api/file=" + p
    )
    assert page.count("<video") == 1 and "没有片段" in page  # the one without a clip says so
    assert "不同的设置" in page and "提示词" in page and "随机种子" in page and "全部相同" in page
    assert 'src="gradio_api/file=/data/outputs/named/a/x.mp4"' in page


# --- tiles ------------------------------------------------------------------------------------------------------


def test_a_tile_shows_date_tab_model_star_and_a_ring_while_running() -> None:
    running = generation(status="running", progress=0.42, starred=True, poster_path=None)
    tile = gallery.grid_html([running], selected=None, marked=(), lang="en", link=lambda p: "L" + p)
    for text in ("2026-11-29 08:53 UTC", "Image to Video", "gen4_turbo", "Paper boats drift across a pond"):
        assert text in tile, text
    assert 'aria-valuenow="42"' in tile and "42%" in tile and 'aria-pressed="true"' in tile
    done = gallery.grid_html(
        [generation(poster_path="/d/outputs/p.jpg")], selected="g1", marked={"g1"}, lang="en", link=lambda p: "L" + p
    )
    assert 'src="L/d/outputs/p.jpg"' in done and "rs-selected" in done and " checked" in done
    assert "progressbar" not in done and 'aria-pressed="false"' in done


def test_a_prompt_cannot_inject_markup_into_the_page() -> None:
    evil = generation(form={"prompt_text": '<img src=x onerror="alert(1)">"'}, model="<b>m</b>")
    tile = gallery.grid_html([evil], selected=None, marked=(), lang="en", link=lambda p: "L" + p)
    assert "<img src=x" not in tile and "<b>m</b>" not in tile and "&lt;img src=x" in tile
