"""Storyboards: a chain of Continue laid out as shots, kept across a restart, edited (order, trim, crossfade), a
deleted clip named and the rest kept, and an export that is a History item of its own kind."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import av
import pytest

from studio.errors import InvalidInput
from studio.i18n import localize
from studio.phases import Phase
from studio.storyboards import ENDPOINT, Shot
from studio.ui import gallery
from tests.conftest import Vault
from tests.rigs import paper_boats
from tests.test_history import Rig

pytestmark = pytest.mark.usefixtures("database")  # each test on SQLite and on PostgreSQL (tests/conftest.py)

ALICE, BOB = "browser:alice", "browser:bob"


async def chain_of_three(rig: Rig) -> list[str]:
    """Generate, then Continue twice (each clip's parent is the one before)."""
    ids: list[str] = []
    for step in range(3):
        status = await rig.generate(paper_boats(seed=step + 1), parent=ids[-1] if ids else None)
        assert status.phase == Phase.SUCCEEDED, status
        ids.append(status.generation_id)
    return ids


def message(err: InvalidInput) -> str:
    return " ".join(localize(issue, "en") for issue in err.issues)


async def test_a_chain_opens_as_shots_in_order_and_survives_a_restart(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    ids = await chain_of_three(rig)
    boards = rig.studio.storyboards
    board = await boards.from_lineage(ALICE, ids[-1])
    assert [s.generation_id for s in board.shots] == ids
    assert board.name  # named after the first clip's prompt, or "Storyboard N"

    edited = board.with_shots([replace(board.shots[2], in_s=0.5), board.shots[0], board.shots[1]])
    await boards.save(replace(edited, fit="pad"))
    restarted = rig.restarted()
    again = await restarted.storyboards.get(board.id, visitor=ALICE)
    assert again is not None
    assert [s.generation_id for s in again.shots] == [ids[2], ids[0], ids[1]]
    assert again.shots[0].in_s == 0.5 and again.fit == "pad"
    assert await restarted.storyboards.get(board.id, visitor=BOB) is None  # another visitor's: not found
    assert await restarted.storyboards.of(BOB) == []


async def test_continue_puts_the_new_clip_right_after_the_one_it_continues(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    first = (await rig.generate(paper_boats(seed=1))).generation_id
    second = (await rig.generate(paper_boats(seed=2))).generation_id
    board = await rig.studio.storyboards.create(ALICE, shots=[Shot(first), Shot(second)])
    third = (await rig.generate(paper_boats(seed=3), parent=first)).generation_id  # Continue on the first shot
    board = await rig.studio.storyboards.get(board.id, visitor=ALICE)
    assert board is not None
    assert [s.generation_id for s in board.shots] == [first, third, second]


async def test_rename_and_delete_are_the_visitors_own(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    boards = rig.studio.storyboards
    board = await boards.create(ALICE)
    assert board.name == "Storyboard 1"
    assert (await boards.create(ALICE)).name == "Storyboard 2"
    renamed = await boards.rename(board, "  Opening   titles ")
    assert renamed.name == "Opening titles"
    with pytest.raises(InvalidInput) as refused:
        await boards.rename(board, "   ")
    assert message(refused.value).startswith("Name:")
    assert not await boards.delete(board.id, visitor=BOB)
    assert await boards.delete(board.id, visitor=ALICE)
    assert [b.name for b in await boards.of(ALICE)] == ["Storyboard 2"]


async def test_an_empty_storyboard_and_a_deleted_clip_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    boards = rig.studio.storyboards
    empty = await boards.create(ALICE)
    with pytest.raises(InvalidInput) as refused:
        await anext(boards.export(empty.id, visitor=ALICE))
    assert "no shots" in message(refused.value)

    ids = await chain_of_three(rig)
    board = await boards.from_lineage(ALICE, ids[-1])
    await rig.studio.delete(ids[1], visitor=ALICE)
    await rig.studio.purge_deleted(at_once=True)
    views = await boards.views(board)
    assert [v.gone for v in views] == [False, True, False]  # the storyboard keeps the other shots
    with pytest.raises(InvalidInput) as refused:
        await anext(boards.export(board.id, visitor=ALICE))
    assert message(refused.value).startswith("Shot 2: its clip was deleted")
    made = await rig.studio.history_page(ALICE)
    assert not [g for g in made.items if g.endpoint == ENDPOINT]  # no export row for a refused export


async def test_a_trim_whose_out_point_comes_before_its_in_point_is_refused_naming_the_shot(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    ids = await chain_of_three(rig)
    boards = rig.studio.storyboards
    board = await boards.from_lineage(ALICE, ids[-1])
    board = await boards.save(board.with_shots([board.shots[0], replace(board.shots[1], in_s=3.0, out_s=1.0)]))
    with pytest.raises(InvalidInput) as refused:
        await anext(boards.export(board.id, visitor=ALICE))
    assert "Shot 2" in message(refused.value)


async def test_an_export_is_a_history_item_with_its_shots_poster_and_a_clip_of_the_planned_length(
    tmp_path: Path, vault: Vault
) -> None:
    data = tmp_path / "data"
    rig = Rig(tmp_path, store=vault.store(data))
    ids = await chain_of_three(rig)
    vault.forget_local(data)  # with a bucket: exported on another machine, whose shots come from the bucket
    boards = rig.studio.storyboards
    board = await boards.from_lineage(ALICE, ids[-1])
    shots = [replace(board.shots[0], out_s=2.0, crossfade_frames=12), board.shots[1], board.shots[2]]
    board = await boards.save(board.with_shots(shots))
    fractions, kept = [], None
    async for step in boards.export(board.id, visitor=ALICE):
        fractions.append(step.fraction)
        kept = step.generation or kept
    assert kept is not None and kept.endpoint == ENDPOINT and kept.status == Phase.SUCCEEDED
    assert fractions[-1] == 1.0 and len(fractions) > 2  # progress as it went
    assert kept.poster_path and Path(kept.poster_path).is_file()
    if vault.bucket is not None:  # the export is kept for every replica
        assert {vault.key(data, kept.output_path), vault.key(data, kept.poster_path)} <= vault.objects()
    assert [s["generation_id"] for s in kept.form["shots"]] == ids
    with av.open(str(kept.output_path)) as made:
        video = made.streams.video[0]
        seconds = float(video.duration * video.time_base) if video.duration else float(made.duration or 0) / 1e6
        rate = float(video.average_rate or 24)
    clip = 5.0  # the simulator's clips last 5 s
    expected = 2.0 + clip + clip - 12 / rate
    assert abs(seconds - expected) <= 1 / rate + 1e-6, (seconds, expected)
    assert kept.output_seconds == pytest.approx(expected, abs=1 / rate)  # History and the status card say so
    shots = [await rig.studio.generation(i, visitor=ALICE) for i in ids]
    details = gallery.details_markdown(kept, [*shots, kept], "en")  # type: ignore[list-item]
    assert "Storyboard export" in details and "**Shots:** Image to Video (gen4_turbo) → " in details, details
    assert "Task:" not in details  # made here: no task, no key
    # Reuse reopens the storyboard: the same one while it exists, a new one with its shots once it is deleted.
    assert (await boards.reopen(kept)).id == board.id  # type: ignore[union-attr]
    await boards.delete(board.id, visitor=ALICE)
    reopened = await boards.reopen(kept)
    assert reopened is not None and reopened.id != board.id and reopened.shots == board.shots


async def test_an_abandoned_export_stops_and_leaves_no_file_behind(tmp_path: Path) -> None:
    """The page went away mid-export: the render stops, the row says so, and no file is left that no row names."""
    rig = Rig(tmp_path)
    ids = await chain_of_three(rig)
    boards = rig.studio.storyboards
    board = await boards.from_lineage(ALICE, ids[-1])
    before = set(rig.studio.outputs.glob("*.mp4"))
    steps = boards.export(board.id, visitor=ALICE)
    first = await anext(steps)
    assert first.generation is None and first.fraction < 1  # rendering
    await steps.aclose()  # the visitor closed the tab
    # Its thread notices at its next frame and stops (it may have stopped already: then nothing is left to wait for).
    await asyncio.gather(*boards.renders, return_exceptions=True)
    export = next(g for g in (await rig.studio.history_page(ALICE)).items if g.endpoint == ENDPOINT)
    assert export.status == Phase.FAILED
    assert set(rig.studio.outputs.glob("*.mp4")) == before
