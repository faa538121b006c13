"""The page as a designer meets it, at 1440x900 and 390x844, light and dark, English and Chinese.

- After pressing Generate, the card that says it is working is inside the viewport within 0.5 s.
- The banner, every status card and every error keep a text contrast of at least 4.5:1 (WCAG AA) in both themes.
- On a phone every tab is one tap away (no hidden menu), and nothing is wider than the screen.
- Three takes finish side by side; Cancel shows only while something runs; Ctrl+Enter generates.
- A refused field says so at the field, and the message goes when the field changes.
- An example chosen after "Use as character" sends the example's character, not the chained clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS, LaunchedStudio
from tests.e2e.conftest import visitor_page
from tests.e2e.test_browser import FINAL_PHASES, open_studio, status, upload_image, use_provider, wait_phase

pytestmark = [pytest.mark.browser, pytest.mark.app]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TABS = {
    "Image to Video": "i2v",
    "Text to Video": "t2v",
    "Video to Video": "v2v",
    "Character Performance": "cp",
    "Finish": "fin",
}
TABS_ZH = {"图生视频": "i2v", "文生视频": "t2v", "视频转视频": "v2v", "角色表演": "cp", "后期处理": "fin"}

# WCAG's contrast of the text of every element matching a selector against the background it is drawn on (the
# first ancestor with an opaque background).
CONTRASTS = """(selector) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) return c;
    }
    return [255, 255, 255];
  };
  const found = [];
  document.querySelectorAll(selector).forEach((box) => {
    box.querySelectorAll("*").forEach((el) => {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.offsetParent) return;
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      found.push([el.textContent.trim().slice(0, 40), Math.round(ratio * 100) / 100]);
    });
  });
  return found;
}"""

# Every visible element whose right edge passes the viewport's, unless a box on screen clips or scrolls it.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      const clips = o === "hidden" || o === "auto" || o === "scroll" || o === "clip";
      if (clips && e.getBoundingClientRect().right <= width + 1) return true;  // inside a box that scrolls or clips
    }
    return false;
  };
  const out = [];
  document.querySelectorAll("body *").forEach((el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") return;
    const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`.slice(0, 90);
    if (r.right > width + 1 && !clipped(el)) out.push(name);
  });
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 10)};
}"""


def page_for(browser: Any, request: pytest.FixtureRequest, viewport: dict[str, int], locale: str) -> Iterator[Any]:
    yield from visitor_page(browser, request, viewport=viewport, locale=locale)


@pytest.fixture(params=[("desktop", "light", "en"), ("phone", "dark", "zh-CN"), ("phone", "light", "en")])
def styled(browser: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str, str, str]]:
    size, theme, locale = request.param
    for page in page_for(browser, request, DESKTOP if size == "desktop" else PHONE, locale):
        yield page, size, theme, locale


def open_themed(page: Any, url: str, theme: str) -> None:
    page.goto(f"{url}?__theme={theme}", wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")


def card_in_view_ms(page: Any, prefix: str) -> float:
    """Press Generate (scrolled into view, as a visitor would) and time until a working card is in the viewport."""
    page.locator(f"#{prefix}_generate").scroll_into_view_if_needed()
    return float(
        page.evaluate(
            """async (prefix) => {
                const start = performance.now();
                document.getElementById(`${prefix}_generate`).click();
                const inView = () => {
                  const card = document.querySelector(`#${prefix}_status .rs-status`);
                  if (!card || card.dataset.phase === "idle") return false;
                  const r = card.getBoundingClientRect();
                  return r.top >= 0 && r.top < window.innerHeight && r.bottom > 0;
                };
                while (!inView()) {
                  if (performance.now() - start > 5000) return 99999;
                  await new Promise((r) => requestAnimationFrame(r));
                }
                return performance.now() - start;
            }""",
            prefix,
        )
    )


def test_the_working_card_is_in_view_within_half_a_second(
    styled: tuple[Any, str, str, str], launched: LaunchedStudio
) -> None:
    page, size, theme, locale = styled
    open_themed(page, launched.url, theme)
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    elapsed = card_in_view_ms(page, "i2v")
    assert elapsed <= 500, f"{size}/{theme}/{locale}: the card came into view after {elapsed:.0f} ms"
    wait_phase(page, "i2v", *FINAL_PHASES, timeout=30_000)
    assert status(page, "i2v")[0] == "succeeded"


def test_banner_statuses_and_errors_keep_their_contrast(
    styled: tuple[Any, str, str, str], launched: LaunchedStudio
) -> None:
    """Every kind of status card, as the server draws it, under the page's styles, in this theme."""
    from studio.i18n import Msg
    from studio.jobs import JobStatus
    from studio.phases import Phase
    from studio.ui.status import error_html, status_html

    page, size, theme, locale = styled
    open_themed(page, launched.url, theme)
    cards = [
        status_html(JobStatus(phase, Msg("job.created"), task_id="t-1", seed=7, progress=0.4, credits=25))
        for phase in (Phase.RUNNING, Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED, Phase.INTERRUPTED, Phase.QUEUED)
    ] + [status_html(None), error_html(["First frame is required."], at_fields={"i2v_first": "required"})]
    page.evaluate(
        """(cards) => {
            const holder = document.querySelector("#i2v_status");
            holder.innerHTML = cards.map((c) => `<div class="rs-test-card">${c}</div>`).join("");
        }""",
        cards,
    )
    page.wait_for_selector("#i2v_first + .rs-field-error")  # the script put the field's message under it
    low = []
    for selector in ("#sim_banner", ".rs-test-card", ".rs-field-error", "#i2v_cost", "#i2v_last_note"):
        for text, ratio in page.evaluate(CONTRASTS, selector):
            if ratio < 4.5:
                low.append((selector, text, ratio))
    assert not low, f"{size}/{theme}: text under 4.5:1: {low}"


def test_on_a_phone_every_tab_is_one_tap_away_and_nothing_is_wider_than_the_screen(
    browser: Any, request: pytest.FixtureRequest, launched: LaunchedStudio
) -> None:
    for theme, locale, names in (("light", "en", {**TABS, "History": "history"}), ("dark", "zh-CN", TABS_ZH)):
        for page in page_for(browser, request, PHONE, locale):
            open_themed(page, launched.url, theme)
            assert (
                page.locator("[aria-label='More tabs']").count() == 0 or not page.get_by_label("More tabs").is_visible()
            )
            for name, prefix in names.items():
                tab = page.get_by_role("tab", name=name, exact=True)
                assert tab.is_visible(), f"{locale}: the {name} tab is not on screen"
                tab.click()
                page.wait_for_selector(f"#{prefix}_generate" if prefix != "history" else "#history_refresh")
                page.wait_for_timeout(300)
                found = page.evaluate(OVERFLOWING)
                assert found["scroll"] <= found["width"] and not found["out"], f"{locale}/{theme} {name}: {found}"


def open_text_to_video(page: Any, url: str) -> None:
    """Text to Video is Runway's own endpoint (openai-hk has none), so pick the simulator of Runway's API first."""
    open_studio(page, url)
    use_provider(page, "Simulator · Runway")
    page.get_by_role("tab", name="Text to Video", exact=True).click()
    page.wait_for_selector("#t2v_generate:not([disabled])")


def ask_for_takes(page: Any, count: int, prompt: str) -> None:
    page.fill("#t2v_prompt textarea", prompt)
    page.locator("#t2v_takes input[role=combobox]").click()
    page.get_by_role("listbox").get_by_role("option", name=str(count), exact=True).click()


def test_three_takes_finish_side_by_side(visitor: Any, launched: LaunchedStudio, screenshot: Any) -> None:
    page = visitor
    page.set_viewport_size(DESKTOP)
    open_text_to_video(page, launched.url)
    ask_for_takes(page, 3, "three lanterns over a lake")
    page.wait_for_function("() => document.querySelector('#t2v_cost').innerText.includes('3')")
    assert not page.locator("#t2v_cancel").is_visible()  # nothing runs yet
    before = launched.created
    page.click("#t2v_generate")
    page.locator("#t2v_cancel").wait_for(state="visible")  # while it runs, it can be cancelled
    for take in (1, 2, 3):
        page.wait_for_function(
            "(sel) => document.querySelector(sel)?.dataset.phase === 'succeeded'",
            arg=f"#t2v_take{take}_status .rs-status",
            timeout=40_000,
        )
    page.locator("#t2v_cancel").wait_for(state="hidden")
    assert launched.created == before + 3
    boxes = [page.locator(sel).bounding_box() for sel in ("#t2v_video", "#t2v_video_2", "#t2v_video_3")]
    assert all(boxes), boxes
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[1]["x"] > boxes[0]["x"], f"not side by side: {boxes}"
    seeds = {page.inner_text(f"#t2v_take{n}_status .rs-seed code") for n in (1, 2, 3)}
    assert len(seeds) == 3, f"the takes share a seed: {seeds}"
    screenshot("takes")


def test_a_refused_field_says_so_at_the_field_until_it_changes(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    open_studio(page, launched.url, "Image to Video")
    page.click("#i2v_generate")  # no first frame
    wait_phase(page, "i2v", "invalid")
    note = page.locator("#i2v_first + .rs-field-error")
    note.wait_for()
    assert "First frame" in note.inner_text() or "first frame" in note.inner_text().lower()
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    note.wait_for(state="detached")


def test_ctrl_enter_generates(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    open_text_to_video(page, launched.url)
    page.fill("#t2v_prompt textarea", "a quiet harbour at night")
    before = launched.created
    page.locator("#t2v_prompt textarea").press("Control+Enter")
    wait_phase(page, "t2v", *FINAL_PHASES, timeout=30_000)
    assert launched.created == before + 1


def test_an_example_after_use_as_character_sends_the_examples_character(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    open_studio(page, launched.url, "Image to Video")
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    page.click("#i2v_generate")
    wait_phase(page, "i2v", "succeeded", timeout=30_000)
    page.click("#i2v_to_character")
    page.wait_for_selector("#cp_character_video video", state="attached")  # the clip is the character now
    page.locator("#cp_examples tbody tr").first.click()
    page.wait_for_selector("#cp_character_image img", state="attached")
    assert page.locator("#cp_character_type input[value=image]").is_checked()
    assert not page.locator("#cp_character_video").is_visible()
    page.click("#cp_generate")
    wait_phase(page, "cp", *FINAL_PHASES, timeout=40_000)
    rows = [g for g in _all_generations(launched) if g.endpoint == "character_performance"]
    latest = max(rows, key=lambda g: g.created_at)
    assert latest.form["character_type"] == "image"
    assert Path(latest.form["character"]["path"]).suffix == ".png"


def _all_generations(launched: LaunchedStudio) -> list[Any]:
    import sqlite3

    from studio.history import Generation

    db = sqlite3.connect(f"file:{launched.studio.history.path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT id FROM generations").fetchall()
    finally:
        db.close()
    found = [launched.studio.history.get(r["id"]) for r in rows]
    return [g for g in found if isinstance(g, Generation)]


def test_the_previous_clip_stays_until_the_new_one_replaces_it(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    open_studio(page, launched.url, "Image to Video")
    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    page.click("#i2v_generate")
    wait_phase(page, "i2v", "succeeded", timeout=30_000)
    source = "() => document.querySelector('#i2v_video video')?.getAttribute('src') || ''"
    first = page.evaluate(source)
    assert first
    page.click("#i2v_generate")
    wait_phase(page, "i2v", "queued", "running", timeout=15_000)
    assert page.evaluate(source) == first, "pressing Generate took the last clip away before a new one came"
    wait_phase(page, "i2v", "succeeded", timeout=30_000)
    page.wait_for_function(f"() => ({source})() !== {first!r}")


def test_a_take_can_be_kept_and_discarded_with_undo(visitor: Any, launched: LaunchedStudio) -> None:
    page = visitor
    page.set_viewport_size(DESKTOP)
    open_text_to_video(page, launched.url)
    ask_for_takes(page, 2, "two kites over a beach")
    page.click("#t2v_generate")
    for take in (1, 2):
        page.wait_for_function(
            "(sel) => document.querySelector(sel)?.dataset.phase === 'succeeded'",
            arg=f"#t2v_take{take}_status .rs-status",
            timeout=40_000,
        )
    page.locator("#t2v_take").get_by_label("2", exact=True).check()  # the actions now work on take 2
    page.click("#t2v_keep")
    page.locator("#t2v_kept").wait_for(state="visible")
    second = _newest(launched, "text_to_video", 2)
    assert launched.studio.history.get(second[0].id).starred  # History's "Starred only" finds it
    assert not launched.studio.history.get(second[1].id).starred

    page.click("#t2v_discard")
    page.locator("#t2v_undo").wait_for(state="visible")
    assert "Take 2 discarded" in page.inner_text("#t2v_undo_text")
    page.locator("#t2v_video_2").wait_for(state="hidden")
    assert launched.studio.history.get(second[0].id).deleted_at is not None
    page.click("#t2v_undo")
    page.locator("#t2v_video_2").wait_for(state="visible")
    page.locator("#t2v_undo").wait_for(state="hidden")
    assert launched.studio.history.get(second[0].id).deleted_at is None
    assert Path(launched.studio.history.get(second[0].id).output_path or "").is_file()


def _newest(launched: LaunchedStudio, endpoint: str, count: int) -> list[Any]:
    """The ``count`` newest generations of ``endpoint``, the newest (the last take) first."""
    rows = [g for g in _all_generations(launched) if g.endpoint == endpoint]
    return sorted(rows, key=lambda g: g.created_at, reverse=True)[:count]


def test_generate_follows_the_provider_chosen_when_the_run_ends(visitor: Any, launched: LaunchedStudio) -> None:
    """Text to Video runs on Runway's simulator; the visitor switches to openai-hk's (which has no Text to Video)
    before it ends: Generate stays off, not pressable for a refusal."""
    page = visitor
    open_text_to_video(page, launched.url)
    page.fill("#t2v_prompt textarea", "a kite in the rain")
    page.click("#t2v_generate")
    wait_phase(page, "t2v", "queued", "running", timeout=15_000)
    use_provider(page, "Simulator · openai-hk")
    wait_phase(page, "t2v", *FINAL_PHASES, timeout=30_000)
    page.wait_for_selector("#t2v_cancel", state="hidden")
    page.wait_for_function("() => document.querySelector('#t2v_generate').disabled", timeout=5_000)
