"""Replicas share their files through an S3-compatible bucket (here the emulator, through the real boto3 client):
a clip made by one is served, downloaded and reused by another that has no copy of it; Delete takes it from the
bucket, and a copy another replica kept is never served after that; a bucket that refuses a clip leaves the job to
be resumed; with a bucket the size budget trims local copies only. Without a bucket nothing needs boto3."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from studio.disk import LOW_WATER, DiskPolicy, size_of
from studio.errors import StudioError
from studio.i18n import localize
from studio.phases import Phase
from studio.settings import Settings, SettingsError
from studio.storage import LocalStore, S3Store, open_store
from studio.storage import main as storage_main
from tests.conftest import ROOT, S3_KEYS, S3_REGION, Bucket, serve
from tests.fakes import FakeClock
from tests.rigs import paper_boats
from tests.test_disk import files_of, made
from tests.test_gallery import ALICE, studio_on, with_files
from tests.test_history import Rig
from tests.test_served_files import _generation_of

DAY = 86400.0


def key(data: Path, path: str | Path | None) -> str:
    return Path(os.path.abspath(str(path))).relative_to(os.path.abspath(data)).as_posix()


def another_machine(data: Path) -> None:
    """This replica's copies of clips and inputs gone: the data dir as another machine has it (same path)."""
    import shutil

    for folder in ("outputs", "inputs"):
        shutil.rmtree(data / folder)
        (data / folder).mkdir()


async def test_a_clip_made_on_one_replica_is_served_reused_and_deleted_from_another(
    tmp_path: Path, bucket: Bucket
) -> None:
    data = tmp_path / "data"
    rig = Rig(tmp_path, store=bucket.store(data))
    status = await rig.generate(paper_boats())
    row = rig.studio.history.get(status.generation_id)
    assert row is not None and status.phase == Phase.SUCCEEDED
    clip, poster, given = Path(str(row.output_path)), Path(str(row.poster_path)), Path(row.form["first"]["path"])
    clip_bytes = clip.read_bytes()
    assert {key(data, p) for p in (clip, poster, given)} == bucket.objects()

    another_machine(data)
    other = rig.restarted()  # a second studio, on the same data dir path, with none of the first one's files
    app = Starlette(middleware=[other.links.middleware()])
    with TestClient(app) as http:
        clip_link, poster_link = (f"/{other.links.href(p)}" for p in (clip, poster))
        answer = http.get(clip_link)
        assert answer.status_code == 200 and answer.content == clip_bytes
        assert answer.headers["content-type"] == "video/mp4" and answer.headers["x-content-type-options"] == "nosniff"
        assert http.get(poster_link).headers["content-type"] == "image/jpeg"

        reuse = await other.reuse(row.id, visitor=ALICE)  # the kept input is found, fetched from the bucket
        assert reuse is not None and reuse.form.media()["first"].path == str(given) and given.is_file()
        named = await other.download_path(row.id, visitor=ALICE)
        assert named is not None and named.read_bytes() == clip_bytes

        assert await other.delete(row.id, visitor=ALICE) is not None
        assert await other.purge_deleted(visitor=ALICE, generation_id=row.id, at_once=True) == 1
        assert bucket.objects() == set()  # the clip, its poster, its input and its named copy left the bucket
        assert http.get(clip_link).status_code == 404

        # The first replica still had a copy (its cache): once deleted, its links answer 404 there too.
        clip.parent.mkdir(parents=True, exist_ok=True)
        clip.write_bytes(clip_bytes)
        assert http.get(clip_link).status_code == 404


async def test_a_bucket_that_refuses_a_clip_leaves_the_job_to_be_resumed(tmp_path: Path, bucket: Bucket) -> None:
    data = tmp_path / "data"
    store = bucket.store(data)
    rig = Rig(tmp_path, store=store)
    job = await rig.studio.submit(paper_boats(), provider=rig.provider, visitor=ALICE, visitor_key=None)
    store.bucket = bucket.name + "-gone"  # the bucket stops answering once the input is kept
    status = await job.wait_done()
    assert status.phase == Phase.INTERRUPTED and status.message_key == "job.retry_download", status
    said = localize(status.message, "en")
    assert "could not be kept in the shared file store" in said and "NoSuchBucket" in said, said
    assert not [p for p in (data / "outputs").rglob("*") if p.is_file()]  # nothing half-kept left behind
    row = rig.studio.history.get(job.generation_id)
    assert row is not None and row.output_path is None
    assert job.generation_id in {g.id for g in rig.studio.history.unfinished()}  # the reconciler takes it up again

    with pytest.raises(StudioError, match="The file store"):  # an input it cannot keep: nothing is sent
        await rig.studio.submit(paper_boats(seed=8), provider=rig.provider, visitor=ALICE, visitor_key=None)
    assert rig.created == 1


async def test_a_bucket_that_cannot_delete_leaves_its_objects_said_and_the_local_files_still_go(
    tmp_path: Path, bucket: Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    store = bucket.store(data)
    studio = studio_on(tmp_path, FakeClock(), store=store)
    g = with_files(studio)
    await studio.delete(g.id, visitor=ALICE)
    store.bucket = bucket.name + "-gone"
    assert await studio.purge_deleted(visitor=ALICE, generation_id=g.id, at_once=True) == 1
    assert not Path(str(g.output_path)).exists() and not Path(str(g.poster_path)).exists()
    assert "files left in the shared store" in caplog.text and "NoSuchBucket" in caplog.text
    assert bucket.objects() == {key(data, g.output_path), key(data, g.poster_path)}


async def test_with_a_bucket_the_size_budget_trims_local_copies_and_no_generation(
    tmp_path: Path, bucket: Bucket
) -> None:
    clock = FakeClock(start=1_780_000_000.0)
    data = tmp_path / "data"
    studio = studio_on(tmp_path, clock, store=bucket.store(data))
    generations = [made(studio, clock) for _ in range(4)]
    for age, g in zip((4, 3, 2, 1), generations, strict=True):  # written days apart, oldest first
        for path in files_of(g):
            os.utime(path, (time.time() - age * DAY, time.time() - age * DAY))
    studio.history.compact()
    in_bucket = bucket.objects()
    target = size_of(data) - 300 * 1024  # two generations' copies must go
    studio.disk = DiskPolicy(max_data_bytes=int(target / LOW_WATER))

    assert await studio.keep_disk_bounded() == 0  # no generation's files were removed: only copies
    assert size_of(data) <= target
    oldest = generations[0]
    assert not any(p.exists() for p in files_of(oldest)) and all(p.exists() for p in files_of(generations[-1]))
    assert bucket.objects() == in_bucket
    row = studio.history.get(oldest.id)
    assert row is not None and row.removed_at is None
    reuse = await studio.reuse(oldest.id, visitor=ALICE)  # fetched back when asked for
    assert reuse is not None and reuse.form.media()["first"].path == oldest.form["first"]["path"]
    assert Path(oldest.form["first"]["path"]).is_file()


def test_a_file_outside_the_data_dir_is_not_the_stores(tmp_path: Path, bucket: Bucket) -> None:
    data = tmp_path / "data"
    store = bucket.store(data)
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"png")
    store.put(outside)
    assert bucket.objects() == set() and store.key(outside) is None and store.key(data / ".." / "x") is None
    assert store.ensure(outside) and not store.ensure(tmp_path / "missing.png")
    assert store.key(data / "outputs" / "a.mp4") == "studio/outputs/a.mp4"
    assert not store.ensure(data / "outputs" / "never-kept.mp4")


def test_files_kept_before_the_bucket_are_pushed_once_and_never_destroyed(
    tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    clip, given, half = data / "outputs" / "a" / "clip.mp4", data / "inputs" / "x.png", data / "inputs" / ".y.part"
    for path in (clip, given, half, data / "history.sqlite3"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"kept before")
    store = bucket.store(data)
    assert not store.ensure(clip, confirm=True) and clip.is_file()  # not served from here yet, and not removed

    for name, value in bucket.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(data))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS["secret_key"])
    assert storage_main(["push"]) == 0
    assert "Put 2 files" in capsys.readouterr().out
    assert bucket.objects() == {"outputs/a/clip.mp4", "inputs/x.png"}  # no half-written file, no history
    assert store.ensure(clip, confirm=True)
    assert store.push([data / "outputs", data / "inputs"]) == 0  # once


def test_the_storage_settings_are_checked_and_no_secret_is_shown(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STUDIO_STORAGE_URL='ftp://bucket' must look like s3://bucket"):
        Settings.from_env({"STUDIO_STORAGE_URL": "ftp://bucket"})
    with pytest.raises(SettingsError, match="STUDIO_STORAGE_ENDPOINT='r2.example' must be an http"):
        Settings.from_env({"STUDIO_STORAGE_URL": "s3://b", "STUDIO_STORAGE_ENDPOINT": "r2.example"})
    settings = Settings.from_env(
        {"STUDIO_STORAGE_URL": "s3://clips/studio", "STUDIO_STORAGE_ENDPOINT": "https://id:hush@r2.example"}
    )
    message = settings.startup_message("http://127.0.0.1:7860")
    assert "s3://clips/studio at https://r2.example" in message and "hush" not in message
    assert isinstance(open_store("", data_dir=tmp_path), LocalStore)


def test_without_a_bucket_the_studio_never_imports_boto3() -> None:
    code = "import sys, studio.ui.app, studio.wiring; print(sorted(m for m in sys.modules if 'boto' in m))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.app
def test_the_launched_studio_keeps_its_files_in_the_bucket_and_serves_them_from_it(
    tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole studio as `python app.py` builds it, on a bucket: settings, wiring, the vault and the file route."""
    from gradio_client import Client

    from tests.appclient import submit_paper_boats

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS["access_key"])  # boto3's own chain, as in production
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS["secret_key"])
    data = tmp_path / "data"
    env = {"STUDIO_DATA_DIR": str(data), "STUDIO_SIM_PENDING_S": "0.2", "STUDIO_SIM_RUNNING_S": "1"} | bucket.env()
    with serve(env) as launched:
        assert isinstance(launched.studio.store, S3Store)
        assert launched.settings.storage_region == S3_REGION
        final = list(submit_paper_boats(Client(launched.url, verbose=False, download_files=False)))[-1]
        url = final[1]["url"]
        gid, visitor = _generation_of(launched, url.rsplit("/", 1)[-1])
        row = launched.studio.history.get(gid)
        clip = Path(row.output_path)
        clip_bytes = clip.read_bytes()
        assert {key(data, p) for p in (clip, row.poster_path, row.form["first"]["path"])} <= bucket.objects()
        another_machine(data)
        with httpx.Client() as http:
            answer = http.get(url)
            assert answer.status_code == 200 and answer.content == clip_bytes
            assert asyncio.run(launched.studio.delete(gid, visitor=visitor)) is not None
            assert asyncio.run(launched.studio.purge_deleted(visitor=visitor, generation_id=gid, at_once=True)) == 1
            assert bucket.objects() == set()
            assert http.get(url).status_code == 404
