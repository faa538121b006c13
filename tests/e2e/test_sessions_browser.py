"""Gradio's per-page session state does not pile up: a page closed for an hour loses its session state, an open
page keeps it however idle, and the launch caps how many sessions Gradio keeps.

Real pages in Chromium, so the "closed" signal is Gradio's own (the page's heartbeat connection ending), not a
flag the test sets. Time is moved by passing ``now`` to the upkeep, not by waiting an hour.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest

from studio.settings import DEFAULT_MAX_SESSIONS
from studio.ui.gradio_compat import drop_departed_sessions
from studio.ui.upkeep import CLOSED_SESSION_TTL_S
from tests.conftest import LaunchedStudio
from tests.e2e.conftest import VIEWPORT
from tests.e2e.test_browser import GEN3A_RATIOS, NO_LAST_FRAME, choose, listbox_options, open_studio

pytestmark = [pytest.mark.browser, pytest.mark.app]


def _until(condition: Any, what: str, timeout_s: float = 20.0) -> None:
    """Wait for the server to notice something the browser did (no clock to inject: it is Gradio's own I/O)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def pages(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def new_page() -> Any:
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


def _open(new_page: Any, launched: LaunchedStudio, holder: Any) -> tuple[Any, str]:
    """A visitor opens the page; returns the page and the id of the session Gradio made for it."""
    before = set(holder.session_data)
    page = new_page()
    open_studio(page, launched.url)
    _until(lambda: set(holder.session_data) - before, "the page's session")
    (session_id,) = set(holder.session_data) - before
    return page, session_id


def test_a_closed_pages_session_goes_after_an_hour_and_an_open_one_stays(pages: Any, launched: LaunchedStudio) -> None:
    holder = launched.demo.server_app.state_holder
    assert launched.demo.state_session_capacity == DEFAULT_MAX_SESSIONS  # not Gradio's 10,000

    open_page, open_id = _open(pages, launched, holder)
    left_page, left_id = _open(pages, launched, holder)
    left_page.context.close()  # the visitor closes the tab: Gradio sees its heartbeat end
    _until(lambda: holder.session_data[left_id].is_closed, "Gradio to mark the closed page's session")
    assert not holder.session_data[open_id].is_closed

    now = datetime.datetime.now()
    assert (
        drop_departed_sessions(holder, now=now + datetime.timedelta(minutes=30), ttl_s=CLOSED_SESSION_TTL_S) == 0
    )  # closed, but not for long
    assert left_id in holder.session_data

    later = now + datetime.timedelta(seconds=CLOSED_SESSION_TTL_S + 60)
    drop_departed_sessions(holder, now=later, ttl_s=CLOSED_SESSION_TTL_S)
    assert left_id not in holder.session_data and left_id not in holder.time_last_used
    assert open_id in holder.session_data  # idle just as long, but its page is open

    # The open page still works with its own session: switching the model updates its ratio choices.
    choose(open_page, "i2v_model", "gen3a_turbo · Gen-3 Alpha Turbo")
    open_page.wait_for_function(
        "(warning) => !document.querySelector('#i2v_last_note').innerText.includes(warning)",
        arg=NO_LAST_FRAME,
    )
    assert listbox_options(open_page, "i2v_ratio") == GEN3A_RATIOS


def test_a_visitors_session_does_not_grow_with_each_generation(pages: Any, launched: LaunchedStudio) -> None:
    """Gradio keeps a copy of a component in the page's session each time a handler updates it; done carelessly
    (an output left out of a streamed update), the session gained two components per generation and a page open
    all day grew without bound. Generate, look at History and switch models, round after round: the session's
    size after the second round is its size after the fourth."""
    from tests.e2e.test_history_browser import THUMBNAILS, generate, select_newest, start_i2v

    holder = launched.demo.server_app.state_holder
    before = set(holder.session_data)
    page = pages()
    start_i2v(page, launched.url)
    page.fill("#i2v_prompt textarea", "Paper boats drift across a pond")  # gen3a_turbo needs one
    (session_id,) = set(holder.session_data) - before

    def size() -> tuple[int, int]:
        session = holder.session_data[session_id]
        return len(session.blocks_config.blocks), len(session.config_values)

    sizes = []
    for round_ in range(4):
        generate(page, "i2v")
        page.get_by_role("tab", name="History", exact=True).click()
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[THUMBNAILS, round_ + 1])
        select_newest(page)
        page.get_by_role("tab", name="Image to Video", exact=True).click()
        choose(page, "i2v_model", "gen3a_turbo · Gen-3 Alpha Turbo" if round_ % 2 == 0 else "gen4_turbo · Gen-4 Turbo")
        choose(page, "i2v_ratio", "768:1280" if round_ % 2 == 0 else "960:960")
        sizes.append(size())
    blocks = holder.session_data[session_id].blocks_config.blocks
    strays = [
        getattr(b, "elem_id", None) or type(b).__name__ for k, b in blocks.items() if k not in launched.demo.blocks
    ]
    assert sizes[3] == sizes[1], f"the session grew: {sizes}; entries the page does not have: {strays}"
    assert not strays, f"the session holds entries the page does not have: {strays}"
