"""Screenshots of every tab as a new visitor sees it: desktop and phone width, light and dark.

Usage, from the repository root::

    python tools/screenshots.py [--provider simulator|runway] [--out tests/artifacts/shots] [--tab "Video to Video"]

Starts the studio on the embedded simulator (``--provider runway``: the official provider, answered by a standalone
simulator on loopback, with a made-up key), opens each tab in Debian's Chromium at 1400 px and 390 px wide, in the
light and the dark theme (Gradio's ``?__theme=``), and saves full-page PNGs named ``<tab>-<width>-<theme>.png``.
``--model`` picks a model on each tab that offers it first (e.g. ``--model aleph2``). ``--history-items 24`` gives
each visitor that many generations the first time History is opened (recorded straight into the history store,
with rendered clips: a mix of tabs, models and statuses, a portrait clip, a running one, starred ones), so History
is seen full rather than empty. ``--desktop 1440x900`` sets the desktop viewport.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.storyboards import Shot  # noqa: E402
from tests.conftest import serve  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, DEBIAN_CHROMIUM  # noqa: E402
from tests.e2e.test_layout_browser import TABS  # noqa: E402  # the generation tabs, by name: their prefixes
from tests.fakes import ServerThread  # noqa: E402

WIDTHS = {"desktop": (1400, 1000), "phone": (390, 844)}
THEMES = ("light", "dark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", choices=("simulator", "runway"), default="simulator")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "artifacts" / "shots")
    parser.add_argument("--tab", action="append", help="only these tabs (default: every tab and History)")
    parser.add_argument("--model", help="choose this model on each tab that offers it")
    parser.add_argument("--history-items", type=int, default=0, help="generations each visitor's History shows")
    parser.add_argument("--desktop", default="1400x1000", help="the desktop viewport, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(v) for v in args.desktop.split("x"))
    WIDTHS["desktop"] = (width, height)

    from playwright.sync_api import sync_playwright

    from studio.simulator.app import create_app
    from studio.simulator.config import SimulatorConfig

    args.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"STUDIO_DATA_DIR": str(tmp / "data")}
        if args.provider == "runway":
            simulator = create_app(SimulatorConfig(output_dir=tmp / "sim"))
            sim_url = stack.enter_context(ServerThread(simulator))
            env |= {"STUDIO_PROVIDER": "runway", "STUDIO_API_KEY": "key_FAKE_screenshots", "STUDIO_BASE_URL": sim_url}
        launched = stack.enter_context(serve(env))
        url = launched.url
        if args.history_items:
            seed_history_on_first_open(launched.studio, args.history_items, tmp / "clips")
        tabs = args.tab or [*TABS, "Storyboard", "History"]
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=DEBIAN_CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for size, (width, height) in WIDTHS.items():
                for theme in THEMES:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(f"{url}?__theme={theme}", wait_until="domcontentloaded")
                    page.wait_for_selector("#i2v_generate", state="visible")
                    for tab in tabs:
                        page.get_by_role("tab", name=tab, exact=True).click()  # every tab is on screen, phones too
                        prefix = TABS.get(tab)
                        if tab == "Storyboard":
                            page.wait_for_selector("#board_export", state="visible")
                        if prefix:
                            page.wait_for_selector(f"#{prefix}_generate", state="visible")
                            if args.model:
                                _choose(page, f"{prefix}_model", args.model)
                        page.wait_for_timeout(600)  # let the tab's own page-load events land
                        name = re.sub(r"\W+", "-", tab.lower())
                        path = args.out / f"{name}-{size}-{theme}.png"
                        page.screenshot(path=str(path), full_page=True)
                        print(path)
                    page.close()
            browser.close()


SEEDS = [  # (endpoint, model, prompt, status, portrait)
    ("image_to_video", "gen4_turbo", "Paper boats drift across a pond", "succeeded", False),
    ("text_to_video", "gen4.5", "Neon rain on a quiet street at night", "running", False),
    ("image_to_video", "gen3a_turbo", "A lighthouse at dusk, waves crashing against the rocks", "succeeded", False),
    ("video_to_video", "gen4_aleph", "Turn the city into a watercolour painting", "succeeded", False),
    ("image_to_video", "gen4_turbo", "纸船在池塘上漂流", "succeeded", False),
    ("character_performance", "act_two", "The robot nods and smiles", "succeeded", True),
    ("image_to_video", "gen4_turbo", "simulate moderation please", "failed", False),
    ("text_to_video", "veo3.1", "", "succeeded", False),
    ("video_to_video", "aleph2", "A paper lantern drifts up a quiet river", "cancelled", False),
    ("image_to_video", "gen4_turbo", "A tall robot waves hello", "succeeded", True),
]


def seed_history_on_first_open(studio: Any, count: int, folder: Path) -> None:
    """Give each visitor ``count`` generations the first time their History is read (the page's visitor id is only
    known then)."""
    clips = _clips(folder)
    page_of, boards_of, seeded = studio.history_page, studio.storyboards.of, set()

    async def first_time(visitor: str) -> None:
        if visitor not in seeded:
            seeded.add(visitor)
            made = _seed(studio, visitor, count, clips)
            await studio.storyboards.create(visitor, name="Lighthouse sequence", shots=[Shot(g) for g in made[:4]])

    async def history_page(visitor: str, **kwargs: Any) -> Any:
        await first_time(visitor)
        return await page_of(visitor, **kwargs)

    async def storyboards_of(visitor: str) -> Any:
        await first_time(visitor)
        return await boards_of(visitor)

    studio.history_page = history_page
    studio.storyboards.of = storyboards_of


def _clips(folder: Path) -> dict[bool, Path]:
    """A landscape and a portrait clip, each with its poster beside it (.jpg)."""
    from PIL import Image

    from studio import media
    from studio.simulator import render
    from tests.conftest import ASSETS

    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for portrait, (image, size) in {
        False: ("paper_boats.png", (640, 360)),
        True: ("robot_character.png", (360, 640)),
    }.items():
        clip = folder / f"{'portrait' if portrait else 'landscape'}.mp4"
        first = Image.open(ASSETS / image).convert("RGB")
        render.render_image_to_video(first=first, last=None, size=size, seconds=2, seed=3, dest=clip)
        media.save_frame(clip, clip.with_suffix(".jpg"), at=0.0)
        made[portrait] = clip
    return made


def _seed(studio: Any, visitor: str, count: int, clips: dict[bool, Path]) -> list[str]:
    """Record ``count`` generations for ``visitor``; the ids of those with a landscape clip."""
    import sqlite3

    from studio.history import NewGeneration

    store = studio.history
    landscape = []
    for n in range(count):
        endpoint, model, prompt, status, portrait = SEEDS[n % len(SEEDS)]
        if status == "running" and n >= len(SEEDS):
            status = "succeeded"  # one ring is enough
        form = {"model": model, "prompt_text": prompt, "seed": 1000 + n, "ratio": "1280:720", "duration": 5}
        new = NewGeneration(
            visitor=visitor,
            provider="simulator",
            endpoint=endpoint,
            model=model,
            form=form,
            estimated_credits=25,
            key_source="your key",
            seed=1000 + n,
            output_seconds=5,
        )
        g = store.add(new)
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE generations SET created_at = created_at - ? WHERE id = ?", (2400 * n, g.id))
        if status == "succeeded":
            name, clip = secrets.token_urlsafe(18), clips[portrait]
            shutil.copyfile(clip, studio.outputs / f"{name}.mp4")
            shutil.copyfile(clip.with_suffix(".jpg"), studio.outputs / f"{name}.jpg")
            out = studio.outputs / name
            store.set_output(g.id, output_path=f"{out}.mp4", poster_path=f"{out}.jpg", actual_credits=25)
            if not portrait:
                landscape.append(g.id)
        if status == "running":
            store.set_task(g.id, f"seeded-{g.id}")
        store.record(g.id, status, progress=0.42 if status == "running" else None)
        if n % 5 == 2:
            store.set_starred(g.id, visitor=visitor, starred=True)
    return landscape


def _choose(page: object, elem_id: str, model: str) -> None:
    """Pick ``model`` when the tab offers it (its choices read "<name> · <label>")."""
    box = page.locator(f"#{elem_id} input[role=combobox]")  # type: ignore[attr-defined]
    box.click()
    option = page.get_by_role("listbox").get_by_role("option", name=re.compile(rf"^{re.escape(model)} · "))  # type: ignore[attr-defined]
    if option.count():
        option.first.click()
    else:
        box.press("Escape")


if __name__ == "__main__":
    main()
