"""History open time: one visitor with 1,000 and with 10,000 generations opens the History tab.

Usage, from the repository root::

    python bench/history_open.py [--repeat 5] [--sizes 1000,10000] [--others 5000] [--no-browser]

The history store is seeded directly (SQLite ``executemany``, rows as the studio writes them: a mix of tabs,
models and statuses, one a minute apart), with ``--others`` rows of other visitors beside them. Then, per size,
``--repeat`` times after one untimed warm-up:

1. server: what opening History runs (``HistoryTab.open``): purge deletes past their undo window, the visitor's
   models for the model filter, the first page (``Studio.history_page``: LIMIT/OFFSET on the visitor's index, and
   the counts) and its HTML (``studio.ui.gallery``); also page 10 and a prompt search, for comparison;
2. browser: the whole studio (``assemble`` + ``launch``, as ``python app.py``) on a loopback port, Debian's
   Chromium headless; each run reloads the page (not timed), then times the click on the History tab to its
   24 tiles drawn: at once when the page is ready, and 1.5 s later (the page's own load events done). The
   visitor's id is learnt from their first (empty) History open.

Prints the machine, the load average before and after, a table of medians (min-max) and the exact command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness.machine import load, machine
from harness.stats import spread, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for the tests' Chromium flags

from studio.history import HistoryFilter, HistoryStore
from studio.service import Studio
from studio.ui import gallery
from tests.e2e.conftest import CHROMIUM_ARGS

KINDS = [
    ("image_to_video", "gen4_turbo"),
    ("image_to_video", "gen3a_turbo"),
    ("text_to_video", "gen4.5"),
    ("video_to_video", "gen4_aleph"),
    ("character_performance", "act_two"),
]
WORDS = [
    "paper",
    "boats",
    "lighthouse",
    "dusk",
    "waves",
    "neon",
    "rain",
    "robot",
    "lantern",
    "river",
    "city",
    "watercolour",
    "golden",
    "light",
]
SETTLE_MS = 1500  # a visitor who reads the page before opening History
STATUSES = ["succeeded"] * 8 + ["failed", "cancelled"]


def seed_rows(path: Path, visitor: str, count: int, *, start: float, rng: random.Random) -> None:
    """``count`` generations of ``visitor``, one a minute apart from ``start`` on, in one transaction."""
    rows = []
    for n in range(count):
        endpoint, model = rng.choice(KINDS)
        prompt = " ".join(rng.choice(WORDS) for _ in range(8))
        form = f'{{"model": "{model}", "prompt_text": "{prompt}", "seed": {n}, "ratio": "1280:720"}}'
        at = start + 60 * n
        rows.append(
            (uuid.uuid4().hex, visitor, "simulator", endpoint, model, form, rng.choice(STATUSES), 25, "simulator")
            + (n, 5, at, at, prompt)
        )
    db = sqlite3.connect(path, timeout=30)
    with db:
        db.executemany(
            "INSERT INTO generations (id, visitor, provider, endpoint, model, form, status, estimated_credits,"
            " key_source, seed, output_seconds, created_at, updated_at, prompt_text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()


async def server_open(studio: Studio, visitor: str, *, page: int = 0, text: str = "") -> str:
    """What ``HistoryTab.open`` asks of the service, and the HTML it sends."""
    await studio.purge_deleted()
    await studio.history_models(visitor)
    found = await studio.history_page(visitor, where=HistoryFilter(text=text), page=page)
    return (
        gallery.grid_html(found.items, selected=None, marked=(), lang="en", link=lambda p: studio.links.href(p) or "")
        + gallery.summary_text(found, filtered=bool(text), lang="en")
        + gallery.pager_text(found, "en")
    )


def fmt(values: list[float]) -> str:
    median, low, high, _ = spread(values)
    return f"{1000 * median:7.1f} ({1000 * low:.1f}-{1000 * high:.1f})"


def server_figures(data: Path, sizes: list[int], others: int, repeat: int) -> list[tuple[int, list[str]]]:
    store = HistoryStore(data / "history.sqlite3")
    studio = Studio(clients={}, server_provider="simulator", server_key="", data_dir=data, history=store)
    rng, visitor, start = random.Random(1), "browser:bench", 1_700_000_000.0
    seed_rows(store.path, "browser:someone-else", others, start=start, rng=rng)
    loop = asyncio.new_event_loop()
    table: list[tuple[int, list[str]]] = []
    have = 0
    try:
        for size in sizes:
            seed_rows(store.path, visitor, size - have, start=start + 60 * have, rng=rng)
            have = size
            cells = []
            for page, text in ((0, ""), (9, ""), (0, "lighthouse dusk")):

                def run(page: int = page, text: str = text) -> str:
                    return loop.run_until_complete(server_open(studio, visitor, page=page, text=text))

                walls, _, html = timed(run, repeat)
                assert html.count('class="rs-tile') == 24, "a page is 24 tiles"
                cells.append(fmt(walls))
            table.append((size, cells))
    finally:
        loop.close()
        store.close()
    return table


def browser_figures(data: Path, sizes: list[int], others: int, repeat: int) -> list[tuple[int, str, str]]:
    """Click on History to 24 tiles drawn, in Chromium, against the whole studio."""
    from playwright.sync_api import sync_playwright

    from studio.settings import Settings
    from studio.ui import gradio_compat
    from studio.ui.app import assemble, launch_options

    gradio_compat.keep_session_ids()
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(data)})
    studio, demo = assemble(settings)
    seen: list[str] = []
    models = studio.history_models

    async def spy(visitor: str) -> list[str]:  # learns the browser's visitor id from its first History open
        seen.append(visitor)
        return await models(visitor)

    studio.history_models = spy  # type: ignore[method-assign]
    demo.launch(
        server_name="127.0.0.1",
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(studio, max_upload_mb=settings.max_upload_mb),
    )
    url = str(demo.local_url)
    table = []
    try:
        with sync_playwright() as p:
            executable = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)

            def open_history(settle_ms: int) -> float:
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("#i2v_generate", state="visible")
                page.wait_for_timeout(settle_ms)  # the page's own load events (its tabs re-attaching) done, or not
                began = time.perf_counter()
                page.get_by_role("tab", name="History", exact=True).click()
                page.wait_for_function("() => document.querySelectorAll('#history_grid .rs-tile').length === 24")
                return time.perf_counter() - began

            page.goto(url, wait_until="domcontentloaded")
            page.get_by_role("tab", name="History", exact=True).click()
            page.wait_for_function("() => (document.querySelector('#history_summary')?.innerText || '').length > 0")
            visitor = seen[-1]
            rng, start, have = random.Random(2), 1_700_000_000.0, 0
            seed_rows(studio.history.path, "browser:someone-else", others, start=start, rng=rng)
            for size in sizes:
                seed_rows(studio.history.path, visitor, size - have, start=start + 60 * have, rng=rng)
                have = size
                open_history(0)  # warm-up
                at_once = fmt([open_history(0) for _ in range(repeat)])
                table.append((size, at_once, fmt([open_history(SETTLE_MS) for _ in range(repeat)])))
            browser.close()
    finally:
        demo.close()
    return table


def command(args: argparse.Namespace) -> str:
    flags = " --no-browser" if args.no_browser else ""
    return f"python bench/history_open.py --repeat {args.repeat} --sizes {args.sizes} --others {args.others}{flags}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed opens per case (default 5)")
    parser.add_argument("--sizes", default="1000,10000", help="the visitor's generations, comma-separated")
    parser.add_argument("--others", type=int, default=5000, help="other visitors' generations in the store")
    parser.add_argument("--no-browser", action="store_true", help="only the server's part")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    print("History open: one visitor's first page of 24 tiles, the store seeded directly")
    print(f"machine: {machine('gradio')}")
    print(f"load average before: {load()}   (other work on the machine slows the figures down)")
    print(f"command: {command(args)}   (from the repository root)")
    print(f"medians of {args.repeat} in ms (min-max), {args.others} other visitors' rows in the store\n")
    with tempfile.TemporaryDirectory(prefix="history-open-") as tmp:
        server = server_figures(Path(tmp) / "server", sizes, args.others, args.repeat)
        browser: dict[int, tuple[str, str]] = {}
        if not args.no_browser:
            found = browser_figures(Path(tmp) / "browser", sizes, args.others, args.repeat)
            browser = {size: (at_once, settled) for size, at_once, settled in found}
    head = f"{'generations':>11} | {'server: open':>22} | {'server: page 10':>22} | {'server: search':>22}"
    heads = f" | {'browser: just loaded':>24} | {'browser: 1.5 s later':>24}"
    print(head + (heads if browser else ""))
    print("-" * (len(head) + (len(heads) if browser else 0)))
    for size, cells in server:
        line = f"{size:>11,} | " + " | ".join(f"{c:>22}" for c in cells)
        print(line + ("".join(f" | {c:>24}" for c in browser[size]) if browser else ""))
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
