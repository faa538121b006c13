"""A real Chromium for the browser tests: one per session, one fresh context (= one visitor) per test.

Chromium is looked up as ``STUDIO_CHROMIUM``, then Debian's ``/usr/bin/chromium``, then Playwright's own download.
Without one the tests skip, except under ``CI=true``, where a missing browser fails the run. Screenshots go to
``tests/artifacts/`` (git-ignored), named after the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS

# The flags measured to work for Debian's Chromium in a container (the project's testing notes, outside the repository).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1100}
DEBIAN_CHROMIUM = "/usr/bin/chromium"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _no_browser(reason: str) -> None:
    """Skip, or fail under CI=true: a CI run that silently skipped every browser test would prove nothing."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: a browser is required)", pytrace=False)
    pytest.skip(reason)


def find_chromium(playwright: Any) -> tuple[str | None, str]:
    """(path, how it was found) or (None, why none was found)."""
    tried: list[str] = []
    wanted = os.environ.get("STUDIO_CHROMIUM", "").strip()
    if wanted:
        if Path(wanted).is_file():
            return wanted, "STUDIO_CHROMIUM"
        tried.append(f"STUDIO_CHROMIUM={wanted} (no such file)")
    if Path(DEBIAN_CHROMIUM).is_file():
        return DEBIAN_CHROMIUM, "Debian's chromium"
    tried.append(f"{DEBIAN_CHROMIUM} (not installed)")
    try:
        own = playwright.chromium.executable_path
    except Exception:
        own = ""
    if own and Path(own).is_file():
        return own, "Playwright's own chromium"
    tried.append(f"Playwright's chromium {own or '(unknown path)'} (not downloaded)")
    return None, "No Chromium for the browser tests: tried " + "; ".join(
        tried
    ) + ". Install Debian's chromium or set STUDIO_CHROMIUM."


@contextmanager
def sync_playwright_driver() -> Iterator[Any]:
    """Playwright's sync API, or a skip (a failure under CI=true) where the package is not installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser(
            "The playwright Python package is not installed (pip install playwright; no browser download needed)."
        )
    with sync_playwright() as driver:
        yield driver


@contextmanager
def launched_chromium(driver: Any) -> Iterator[Any]:
    """Headless Chromium (``find_chromium``), or a skip (a failure under CI=true) where there is none."""
    path, how = find_chromium(driver)
    if path is None:
        _no_browser(how)
    chromium = driver.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and every async test collected after it would fail ("Runner.run() cannot be called from a running event
# loop"). tests/conftest.py also runs the browser tests last.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    with sync_playwright_driver() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Any) -> Iterator[Any]:
    with launched_chromium(playwright_driver) as chromium:
        yield chromium


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: Any = yield
    setattr(item, f"rep_{report.when}", report)  # lets `visitor` screenshot a failing test
    return report


def artifact_name(nodeid_name: str, suffix: str = "") -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid_name).strip("_")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{safe}{'-' + suffix if suffix else ''}.png"


def visitor_page(browser: Any, request: pytest.FixtureRequest, **context_options: Any) -> Iterator[Any]:
    """A page in a fresh browser context (``context_options``: e.g. a locale): its own cookies, localStorage and
    Gradio session; a screenshot is saved when the test fails."""
    context = browser.new_context(**({"viewport": VIEWPORT} | context_options))
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.page_errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        call = getattr(request.node, "rep_call", None)
        if call is not None and call.failed and not page.is_closed():
            try:
                page.screenshot(path=str(artifact_name(request.node.name, "failed")), full_page=True)
            except Exception as err:
                print(f"no failure screenshot: {err}")
        context.close()


@pytest.fixture
def visitor(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new visitor's page."""
    stem = artifact_name(request.node.name).stem
    for stale in [*ARTIFACTS.glob(f"{stem}.png"), *ARTIFACTS.glob(f"{stem}-*.png")]:
        stale.unlink()  # an old run's screenshot (a "-failed" one especially) would mislead whoever looks
    yield from visitor_page(browser, request)


@pytest.fixture
def screenshot(visitor: Any, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``screenshot("after-success")`` saves tests/artifacts/<test name>-after-success.png and returns its path."""

    def take(suffix: str = "", *, full_page: bool = True) -> Path:
        path = artifact_name(request.node.name, suffix)
        visitor.screenshot(path=str(path), full_page=full_page)
        return path

    return take
