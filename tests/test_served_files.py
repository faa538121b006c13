"""Files that belong to their owner and die with Delete: clips, posters and kept inputs are served only through the
studio's own signed links (never from Gradio's cache), by what their bytes are, and answer 404 once deleted."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from PIL import Image, PngImagePlugin

from studio.links import LINK_EXPIRY_STEP_S, LINK_TTL_S, FileLinks, random_name
from tests.appclient import args_for, submit_paper_boats
from tests.conftest import LaunchedStudio
from tests.fakes import FakeClock

I2V = "/generate_image_to_video"


def _generation_of(studio: LaunchedStudio, clip_name: str) -> tuple[str, str]:
    with sqlite3.connect(studio.studio.data_dir / "history.sqlite3") as db:
        row = db.execute("SELECT id, visitor FROM generations WHERE output_path LIKE ?", (f"%{clip_name}",)).fetchone()
    assert row, clip_name
    return row[0], row[1]


def _cached_copies(data: bytes) -> list[Path]:
    cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(__import__("tempfile").gettempdir()) / "gradio")
    return [p for p in cache.rglob("*") if p.is_file() and p.stat().st_size == len(data) and p.read_bytes() == data]


@pytest.mark.app
def test_every_url_of_a_deleted_clip_answers_404(launched: LaunchedStudio) -> None:
    client = Client(launched.url, verbose=False, download_files=False)
    final = list(submit_paper_boats(client))[-1]
    video = final[1]
    assert video and "/studio/files/" in video["url"] and "gradio_api/file=" not in video["url"], video
    clip_name = video["url"].rsplit("/", 1)[-1]
    gid, visitor = _generation_of(launched, clip_name)
    g = launched.studio.history.get(gid)
    clip = Path(g.output_path).read_bytes()
    assert not _cached_copies(clip)  # Gradio made no copy of its own to serve

    import asyncio

    named = asyncio.run(launched.studio.download_path(gid, visitor=visitor))
    links = launched.studio.links
    urls = [video["url"]] + [launched.url + links.href(p) for p in (g.poster_path, named)]
    urls.append(launched.url + "gradio_api/file=" + video["url"])  # the way gradio_client downloads an output
    with httpx.Client() as http:
        answers = [http.get(url) for url in urls]
        assert [a.status_code for a in answers] == [200] * len(urls), urls
        assert answers[0].headers["content-type"] == "video/mp4" and answers[0].content == clip
        assert answers[1].headers["content-type"] == "image/jpeg"

        assert asyncio.run(launched.studio.delete(gid, visitor=visitor)) is not None
        assert asyncio.run(launched.studio.purge_deleted(visitor=visitor, generation_id=gid, at_once=True)) == 1
        assert [http.get(url).status_code for url in urls] == [404] * len(urls), urls
    assert not _cached_copies(clip)


def _polyglot_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<html><script>document.title=localStorage.length</script></html>")
    out = io.BytesIO()
    Image.new("RGB", (1280, 720), (40, 90, 160)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.mark.app
def test_an_html_named_png_is_kept_and_served_as_a_png(launched: LaunchedStudio, tmp_path: Path) -> None:
    from gradio_client import handle_file

    poly = tmp_path / "poly.html"
    poly.write_bytes(_polyglot_png())
    client = Client(launched.url, verbose=False, download_files=False)
    final = client.submit(
        *args_for(client, I2V, first_frame=handle_file(str(poly)), ratio="1280:720"), api_name=I2V
    ).result()
    gid, _ = _generation_of(launched, final[1]["url"].rsplit("/", 1)[-1])
    kept = Path(launched.studio.history.get(gid).form["first"]["path"])
    assert kept.suffix == ".png" and kept.read_bytes() == poly.read_bytes()
    # named by a keyed hash of its bytes (256 bits, stored once however often it is sent), not by the generation's
    # id, and not by a plain hash that anyone holding the image could work out
    assert len(kept.stem) == 64 and gid not in str(kept)
    assert kept.stem != hashlib.sha256(poly.read_bytes()).hexdigest()
    answer = httpx.get(launched.url + launched.studio.links.href(kept))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_file_of_no_known_kind_is_an_attachment_and_a_forged_link_is_404(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "page.mp4").write_text("<script>alert(1)</script>")
    links = FileLinks(key=b"k" * 32, data_dir=tmp_path, folders=(outputs,))
    app = Starlette(middleware=[links.middleware()])
    with TestClient(app) as http:
        link = links.href(outputs / "page.mp4")
        assert link is not None
        answer = http.get("/" + link)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-disposition"].startswith("attachment")
        forged = FileLinks(key=b"x" * 32, data_dir=tmp_path, folders=(outputs,)).href(outputs / "page.mp4")
        assert http.get(f"/{forged}").status_code == 404
        assert links.href(tmp_path / "link.key") is None  # nothing outside the served folders gets a link
        past = -2 * LINK_EXPIRY_STEP_S  # a link whose end has passed, whatever step it was rounded up to
        expired = FileLinks(key=b"k" * 32, data_dir=tmp_path, folders=(outputs,), ttl_s=past).href(outputs / "page.mp4")
        assert http.get(f"/{expired}").status_code == 404


def test_a_link_made_again_is_the_same_link_and_lasts_at_least_its_time(tmp_path: Path) -> None:
    """A clip shown again (the previous take while a new generation runs) keeps its address: the browser does not
    load it again. Links made a few seconds apart end together, never before the link's time has passed."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    clock = FakeClock(start=1_780_000_000.0)
    links = FileLinks(key=b"k" * 32, data_dir=tmp_path, folders=(outputs,), clock=clock)
    first = links.href(outputs / "clip.mp4")
    clock.advance(3)
    assert links.href(outputs / "clip.mp4") == first
    expiry = int(str(first).split("/")[-4])
    assert expiry >= clock() - 3 + LINK_TTL_S


def test_kept_file_names_carry_at_least_128_random_bits(tmp_path: Path) -> None:
    import base64

    names = {random_name() for _ in range(200)}
    assert len(names) == 200
    assert all(len(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))) * 8 >= 128 for n in names)
