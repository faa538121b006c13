"""A browser that used the studio before visitor tokens were signed keeps its History: the page hands the old
token (as Gradio's BrowserState kept it, encrypted) to the server once, and keeps the signed token it gets back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from studio.wiring import browser_secret
from tests.conftest import ARTIFACTS, LaunchedStudio
from tests.e2e.conftest import VIEWPORT
from tests.e2e.test_browser import open_studio
from tests.test_identity import add_generation, old_browser_blob

pytestmark = [pytest.mark.browser, pytest.mark.app]

TILE = '#history_grid .rs-tile[data-gid="{}"]'


def _history_shows(page: Any, generation_id: str) -> bool:
    page.get_by_role("tab", name="History", exact=True).click()
    page.wait_for_selector("#history_refresh", state="visible")
    try:
        page.wait_for_selector(TILE.format(generation_id), state="attached", timeout=10_000)
    except Exception:
        return False
    return True


def test_an_old_browser_keeps_its_history_after_the_change(browser: Any, launched: LaunchedStudio) -> None:
    old_token = "BeforeSigning_0123456789abcdef"
    kept = add_generation(launched, f"browser:{old_token}", "a clip from before the change")
    blob = old_browser_blob(old_token, browser_secret(launched.settings))
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(f"localStorage.setItem('runway_studio_visitor', {json.dumps(blob)})")
    try:
        page = context.new_page()
        open_studio(page, launched.url)
        assert _history_shows(page, kept)
        page.screenshot(path=str(ARTIFACTS / "identity_old_browser_history.png"))
        stored = page.evaluate("() => localStorage.getItem('runway_studio_identity')")
        assert stored and old_token not in stored  # the signed token is kept (obfuscated), not the old one
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector("#i2v_generate", state="visible")
        assert _history_shows(page, kept)  # from the signed token now
    finally:
        context.close()
    stranger = browser.new_context(viewport=VIEWPORT)
    try:
        page = stranger.new_page()
        open_studio(page, launched.url)
        assert not _history_shows(page, kept)  # another browser is another visitor
    finally:
        stranger.close()
