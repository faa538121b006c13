"""The studio in a Chinese browser: a visitor whose browser asks for Simplified Chinese (``zh-CN``, as a Chinese
Chrome does) sees Chinese tab titles, labels and buttons (Gradio's ``gr.I18n``, chosen by the browser), and what
the server says (a refused form, the status of a generation, History) in Chinese too (from Accept-Language). An
English browser still sees the English page.

Screenshots go to tests/artifacts/ (``test_i18n_browser-*.png``): look at them for text that overflows or wraps
badly, since Chinese strings are shorter and English ones longer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS, LaunchedStudio
from tests.e2e.conftest import artifact_name, visitor_page
from tests.e2e.test_browser import upload_image

pytestmark = [pytest.mark.browser, pytest.mark.app]

CJK = re.compile(r"[\u4e00-\u9fff]")
FINAL = ("succeeded", "failed", "cancelled", "invalid")


def context_page(browser: Any, request: pytest.FixtureRequest, locale: str, accept_language: str) -> Iterator[Any]:
    """A fresh visitor whose browser speaks ``locale``: navigator.language and the Accept-Language header."""
    return visitor_page(browser, request, locale=locale, extra_http_headers={"Accept-Language": accept_language})


@pytest.fixture
def chinese_visitor(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from context_page(browser, request, "zh-CN", "zh-CN,zh;q=0.9")


@pytest.fixture
def english_visitor(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from context_page(browser, request, "en-US", "en-US,en;q=0.9")


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    def take(page: Any, suffix: str) -> Path:
        path = artifact_name(request.node.name, suffix)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def open_page(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#i2v_generate", state="visible")


def wait_phase(page: Any, prefix: str, *phases: str, timeout: float = 20_000) -> str:
    page.wait_for_function(
        "([sel, phases]) => { const s = document.querySelector(sel); return !!s && phases.includes(s.dataset.phase) }",
        arg=[f"#{prefix}_status .rs-status", list(phases)],
        timeout=timeout,
    )
    return str(page.eval_on_selector(f"#{prefix}_status .rs-status", "s => s.dataset.phase"))


def visible_text(page: Any) -> str:
    return str(page.evaluate("() => document.body.innerText"))


def test_a_chinese_browser_sees_chinese_labels_and_a_chinese_validation_message(
    chinese_visitor: Any, launched: LaunchedStudio, shot: Callable[[Any, str], Path]
) -> None:
    page = chinese_visitor
    open_page(page, launched.url)
    assert page.evaluate("navigator.language") == "zh-CN"
    for title in ("图生视频", "文生视频", "视频转视频", "角色表演", "历史记录"):
        assert page.get_by_role("tab", name=title, exact=True).is_visible(), title
    assert page.inner_text("#i2v_generate").strip() == "生成"
    assert "首帧" in page.inner_text("#i2v_first")  # gen4_turbo takes no last frame: its column is hidden
    assert page.get_by_label("提示词").first.is_visible()
    assert "模拟器" in page.inner_text("#sim_banner")
    assert "准备就绪" in page.inner_text("#i2v_status")  # the idle panel, translated by the browser
    assert "积分" in page.inner_text("#i2v_cost")  # a line made when the page was built, with its numbers
    assert "尾帧" in page.inner_text("#i2v_last_note")
    assert "点击上传" in page.inner_text("#i2v_first")  # Gradio's own upload text, translated by Gradio
    text = visible_text(page)
    assert "__i18n__" not in text and "translation_metadata" not in text
    for english in ("Image to Video", "First frame", "Generate", "Ready. Fill in the form"):
        assert english not in text, f"{english!r} is still shown in English"

    before = launched.created
    page.click("#i2v_generate")  # no first frame: refused on the server, in the visitor's language
    assert wait_phase(page, "i2v", *FINAL) == "invalid"
    panel = page.inner_text("#i2v_status .rs-status")
    assert "未发送" in panel and "首帧" in panel and "必填" in panel, panel
    assert "First frame" not in panel
    assert launched.created == before
    shot(page, "invalid")

    upload_image(page, "i2v_first", ASSETS / "paper_boats.png")
    page.click("#i2v_generate")
    page.locator("#i2v_cancel").wait_for(state="visible")  # Cancel shows only while a generation runs
    assert page.inner_text("#i2v_cancel").strip() == "取消"
    wait_phase(page, "i2v", *FINAL)
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_a_chinese_browser_is_told_in_chinese_why_a_file_is_refused(
    chinese_visitor: Any, launched: LaunchedStudio, tmp_path: Path, shot: Callable[[Any, str], Path]
) -> None:
    page = chinese_visitor
    open_page(page, launched.url)
    fake = tmp_path / "holiday.png"
    fake.write_text("This is a shopping list, not a picture.\n" * 20)
    page.set_input_files("#i2v_first input[type=file]", str(fake))
    page.wait_for_selector("#i2v_first img", state="attached")
    page.click("#i2v_generate")
    assert wait_phase(page, "i2v", *FINAL) == "invalid"
    panel = page.inner_text("#i2v_status .rs-status")
    assert "首帧：" in panel and "JPEG、PNG 或 WebP" in panel, panel


def test_a_chinese_browser_follows_a_generation_and_its_history_in_chinese(
    chinese_visitor: Any, launched: LaunchedStudio, shot: Callable[[Any, str], Path]
) -> None:
    page = chinese_visitor
    open_page(page, launched.url)
    page.click("#settings")
    page.set_input_files("#i2v_first input[type=file]", str(ASSETS / "paper_boats.png"))
    page.wait_for_selector("#i2v_first img", state="attached")
    page.fill("#i2v_prompt textarea", "纸船在池塘上漂流")
    page.click("#i2v_generate")
    assert wait_phase(page, "i2v", *FINAL, timeout=40_000) == "succeeded"
    panel = page.inner_text("#i2v_status .rs-status")
    assert "已完成" in panel and "你的视频已生成" in panel and "随机种子" in panel, panel
    assert "使用中的密钥" in page.inner_text("#key_in_use") and "模拟器" in page.inner_text("#key_in_use")
    shot(page, "succeeded")

    page.get_by_role("tab", name="历史记录", exact=True).click()
    page.wait_for_selector("#history_grid .rs-tile")
    assert "生成结果" in page.inner_text("#history_summary")
    page.locator("#history_grid .rs-tile").first.click()
    page.wait_for_function("() => (document.querySelector('#history_details')?.innerText || '').includes('任务')")
    details = page.inner_text("#history_details")
    assert "图生视频" in details and "提示词" in details and "纸船在池塘上漂流" in details, details
    assert page.get_by_role("button", name="复用设置").is_visible()
    shot(page, "history")
    assert "__i18n__" not in visible_text(page)
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_an_english_browser_still_sees_english(
    english_visitor: Any, launched: LaunchedStudio, shot: Callable[[Any, str], Path]
) -> None:
    page = english_visitor
    open_page(page, launched.url)
    for title in ("Image to Video", "Text to Video", "Video to Video", "Character Performance", "History"):
        assert page.get_by_role("tab", name=title, exact=True).is_visible(), title
    assert page.inner_text("#i2v_generate").strip() == "Generate"
    assert "First frame" in page.inner_text("#i2v_first")
    assert "Ready. Fill in the form and press Generate." in page.inner_text("#i2v_status")
    page.click("#i2v_generate")
    assert wait_phase(page, "i2v", *FINAL) == "invalid"
    panel = page.inner_text("#i2v_status .rs-status")
    assert "Not sent" in panel and "First frame is required. Upload a file or give an https link." in panel, panel
    text = visible_text(page)
    assert not CJK.search(text), CJK.findall(text)[:20]
    assert "__i18n__" not in text
    shot(page, "invalid")
