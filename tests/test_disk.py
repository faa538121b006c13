"""Bounded disk: a kept input is stored once however often it is sent, the simulator's own copies go with their
links and with Delete, the retention policy removes the oldest generations' files (never a running or starred
one, the row kept and marked), and Gradio's upload folder is trimmed by age and size."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from studio.disk import LOW_WATER, DiskPolicy, size_of
from studio.history import Generation
from studio.service import Studio
from studio.ui import gallery
from tests.conftest import Vault
from tests.fakes import FakeClock
from tests.rigs import paper_boats
from tests.test_gallery import ALICE, BOB, new, studio_on
from tests.test_history import Rig

KB = 1024
DAY = 86400.0


async def test_the_same_image_sent_twice_is_stored_once_and_goes_with_its_last_generation(
    tmp_path: Path, vault: Vault
) -> None:
    rig = Rig(tmp_path, store=vault.store(tmp_path / "data"))
    made = [
        await rig.generate(paper_boats(seed=1)),
        await rig.generate(paper_boats(seed=2)),
        await rig.generate(paper_boats(seed=3), visitor=BOB),
    ]
    rows = [rig.studio.history.get(status.generation_id) for status in made]
    kept = [p for p in rig.studio.inputs.rglob("*") if p.is_file()]
    assert len(kept) == 1, kept  # three generations of one image: one file
    assert {row.form["first"]["path"] for row in rows if row} == {str(kept[0])}
    vault.forget_local(tmp_path / "data")  # with a bucket: Reuse on another machine fetches the input
    for row, visitor in zip(rows, (ALICE, ALICE, BOB), strict=True):
        assert row is not None
        reuse = await rig.studio.reuse(row.id, visitor=visitor)
        assert reuse is not None and reuse.form.media()["first"].path == str(kept[0])

    for row, visitor in zip(rows, (ALICE, ALICE, BOB), strict=True):
        assert kept[0].is_file(), "a shared input went while a generation still uses it"
        assert row is not None and await rig.studio.delete(row.id, visitor=visitor) is not None
        assert await rig.studio.purge_deleted(visitor=visitor, generation_id=row.id, at_once=True) == 1
    assert not kept[0].exists(), "the last generation purged leaves its input behind"
    assert vault.objects() == set(), "the last generation purged leaves files in the bucket"


async def test_a_deleted_generation_takes_the_simulators_copy_of_its_clip(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    status = await rig.generate(paper_boats())
    assert len(list((tmp_path / "sim").glob("*.mp4"))) == 1
    await rig.studio.delete(status.generation_id, visitor=ALICE)
    assert await rig.studio.purge_deleted(visitor=ALICE, generation_id=status.generation_id, at_once=True) == 1
    assert list((tmp_path / "sim").glob("*.mp4")) == []


# --- retention ----------------------------------------------------------------------------------------------------


def studio_with(tmp_path: Path, clock: FakeClock, policy: DiskPolicy) -> Studio:
    return studio_on(tmp_path, clock, disk=policy)


def made(studio: Studio, clock: FakeClock, *, status: str = "succeeded", kb: int = 200, **changes: Any) -> Generation:
    """A generation a day after the last one, with a ``kb`` KB clip, a poster and an input of its own."""
    clock.advance(DAY)
    own_input = studio.inputs / f"{os.urandom(32).hex()}.png"
    own_input.write_bytes(os.urandom(10 * KB))
    form = {"model": "gen4_turbo", "prompt_text": "boats", "seed": 7, "first": {"path": str(own_input), "url": None}}
    g = studio.history.add(new(form=form, **changes))
    written = [own_input]
    if status == "succeeded":
        clip, poster = studio.outputs / f"{g.id}.mp4", studio.outputs / f"{g.id}.jpg"
        clip.write_bytes(os.urandom(kb * KB))
        poster.write_bytes(os.urandom(KB))
        written += [clip, poster]
        studio.history.set_output(g.id, output_path=str(clip), poster_path=str(poster), actual_credits=25)
    for path in written:  # kept for every replica, as the service and the vault keep them
        studio.store.put(path)
    studio.history.record(g.id, status)
    found = studio.history.get(g.id)
    assert found is not None
    return found


def files_of(g: Generation) -> list[Path]:
    return [Path(p) for p in (g.output_path, g.poster_path, g.form["first"]["path"]) if p]


async def test_over_the_size_limit_the_oldest_go_first_but_never_a_starred_or_running_one(tmp_path: Path) -> None:
    clock = FakeClock(start=1_780_000_000.0)
    studio = studio_with(tmp_path, clock, DiskPolicy())
    starred = made(studio, clock)
    studio.history.set_starred(starred.id, visitor=ALICE, starred=True)
    running = made(studio, clock, status="running")
    oldest, older, newer, newest = (made(studio, clock) for _ in range(4))
    studio.history.compact()  # the pass starts with this: the history's log is not what this test measures
    target = size_of(studio.data_dir) - 300 * KB  # one generation's files (211 KB) are not enough: two must go
    limit = int(target / LOW_WATER)  # over the limit, the data dir is brought under 90 % of it
    studio.disk = DiskPolicy(max_data_bytes=limit)

    assert await studio.keep_disk_bounded() == 2
    assert size_of(studio.data_dir) <= target
    assert await studio.keep_disk_bounded() == 0  # under the limit: nothing more goes
    for g in (oldest, older):
        assert not any(p.exists() for p in files_of(g)), f"{g.id}'s files stayed"
        row = studio.history.get(g.id)
        assert row is not None and row.removed_at is not None  # the row stays in History, marked
        assert "removed by the retention policy on" in gallery.details_markdown(row, [row], "en")
        assert "Clip removed" in gallery.grid_html([row], selected=None, marked=(), lang="en", link=str)
        reuse = await studio.reuse(g.id, visitor=ALICE)  # Reuse still works: the removed input left out
        assert reuse is not None and reuse.form.media()["first"].path is None
    for g in (starred, running, newer, newest):
        assert all(p.exists() for p in files_of(g)), f"{g.id}'s files went"
        row = studio.history.get(g.id)
        assert row is not None and row.removed_at is None


async def test_past_the_retention_days_old_generations_go_and_starred_ones_stay(tmp_path: Path, vault: Vault) -> None:
    clock = FakeClock(start=1_780_000_000.0)
    data = tmp_path / "data"
    studio = studio_on(tmp_path, clock, disk=DiskPolicy(retention_days=30), store=vault.store(data))
    old, old_starred = made(studio, clock), made(studio, clock)
    studio.history.set_starred(old_starred.id, visitor=ALICE, starred=True)
    clock.advance(29 * DAY)
    assert await studio.keep_disk_bounded() == 0  # 30 and 29 days old: nothing is due yet
    recent = made(studio, clock)  # made 30 days after the first
    clock.advance(2 * DAY)
    assert await studio.keep_disk_bounded() == 1
    assert not any(p.exists() for p in files_of(old))
    assert all(p.exists() for p in files_of(old_starred) + files_of(recent))
    if vault.bucket is not None:  # the bucket too: retention removes a generation's files everywhere
        assert vault.objects() == {vault.key(data, p) for p in files_of(old_starred) + files_of(recent)}


async def test_the_upload_folder_is_trimmed_by_age_and_by_size(tmp_path: Path) -> None:
    uploads = tmp_path / "gradio"
    policy = DiskPolicy(upload_dir=uploads, upload_max_age_s=3600, upload_max_bytes=1000 * KB)
    studio = studio_with(tmp_path, FakeClock(), policy)
    now = time.time()
    ages = {"old": 7200, "example": 7200, "big1": 900, "big2": 600, "fresh": 10}  # seconds since each was made
    for name, age in ages.items():
        path = uploads / f"{name}-folder" / f"{name}.png"
        path.parent.mkdir(parents=True)
        path.write_bytes(os.urandom((1 if name == "old" else 600) * KB))
        os.utime(path, (now - age, now - age))
    studio.keep_uploads = lambda: {str(uploads / "example-folder" / "example.png")}  # the page's own file
    await studio.keep_disk_bounded()
    left = sorted(p.name for p in uploads.rglob("*"))
    # Too old, then oldest first past the budget; the page's own file stays; folders left empty go.
    assert left == ["example-folder", "example.png", "fresh-folder", "fresh.png"], left


def test_the_studio_trims_gradios_upload_folder_but_never_the_pages_own_files(launched: Any) -> None:
    from gradio.utils import get_upload_folder

    policy = launched.studio.disk
    assert policy.upload_dir == Path(get_upload_folder())
    assert policy.upload_max_age_s == 3600 and policy.upload_max_bytes == 1024 * KB * KB  # the defaults
    own = set(launched.studio.keep_uploads())
    assert any(Path(path).name == "paper_boats.png" for path in own), own  # the examples' copies in the cache
    assert all(Path(path).is_relative_to(policy.upload_dir) for path in own)
