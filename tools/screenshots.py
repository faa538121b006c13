"""Screenshots of every tab as a new visitor sees it: desktop and phone width, light and dark.

Usage, from the repository root::

    python tools/screenshots.py [--provider simulator|runway] [--out tests/artifacts/shots] [--tab "Video to Video"]

Starts the studio on the embedded simulator (``--provider runway``: the official provider, answered by a standalone
simulator on loopback, with a made-up key), opens each tab in Debian's Chromium at 1400 px and 390 px wide, in the
light and the dark theme (Gradio's ``?__theme=``), and saves full-page PNGs named ``<tab>-<width>-<theme>.png``.
``--model`` picks a model on each tab that offers it first (e.g. ``--model aleph2``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from tests.conftest import serve  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, DEBIAN_CHROMIUM  # noqa: E402
from tests.fakes import ServerThread  # noqa: E402

TABS = {"Image to Video": "i2v", "Text to Video": "t2v", "Video to Video": "v2v", "Character Performance": "cp"}
WIDTHS = {"desktop": (1400, 1000), "phone": (390, 844)}
THEMES = ("light", "dark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", choices=("simulator", "runway"), default="simulator")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "artifacts" / "shots")
    parser.add_argument("--tab", action="append", help="only these tabs (default: every tab and History)")
    parser.add_argument("--model", help="choose this model on each tab that offers it")
    args = parser.parse_args()

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
        url = stack.enter_context(serve(env)).url
        tabs = args.tab or [*TABS, "History"]
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
