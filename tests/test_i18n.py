"""English and Simplified Chinese: the catalog is complete and consistent, the visitor's language is read from
Accept-Language, and what the studio says (field issues, media errors, statuses, History) comes out in Chinese for
a Chinese visitor while the English text stays exactly as it was."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import pytest
from PIL import Image

from studio import i18n
from studio.capabilities import OPENAI_HK, SIMULATOR, InputLimits
from studio.errors import FieldIssue, InvalidInput, MediaError, TaskMayExist
from studio.i18n import CATALOG, EN, LANGUAGES, ZH, Join, Label, Msg, language_of, localize, placeholders, t
from studio.jobs import JobStatus
from studio.media import prepare_image
from studio.requests import ENDPOINT_LABELS, FRAME_LABELS, LABELS, parse_request

ROOT = Path(__file__).resolve().parent.parent
STUDIO = ROOT / "studio"
CJK = re.compile(r"[\u4e00-\u9fff]")
IMG = "https://cdn.example.com/frames/first.png"


def chinese(text: str) -> bool:
    return bool(CJK.search(text))


# --- the catalog ----------------------------------------------------------------------------------------------


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert LANGUAGES == ("en", "zh-CN") and set(CATALOG) == set(LANGUAGES)
    assert set(EN) == set(ZH), (sorted(set(EN) - set(ZH)), sorted(set(ZH) - set(EN)))
    mismatched = {
        key: (placeholders(EN[key]), placeholders(ZH[key]))
        for key in EN
        if placeholders(EN[key]) != placeholders(ZH[key])
    }
    assert not mismatched


def test_every_chinese_text_is_chinese_except_names() -> None:
    """A text left in English by mistake shows up here: every Chinese entry has Chinese characters, except the few
    that are names or symbols in every language."""
    latin_only = {key for key, text in ZH.items() if not chinese(text)}
    # Entries made only of parameters and punctuation.
    assert latin_only <= {
        "media.link_problem",
        "page.warning",
        "media.detail",
        "history.headline",
        "history.step",
        "history.option",
        "req.shape",
        "req.field_problem",
    }, sorted(latin_only)


def test_names_translate_to_themselves_in_english() -> None:
    for key, text in EN.items():
        if key.startswith("label."):
            assert text == key.removeprefix("label."), key


def test_static_page_text_is_safe_for_the_browsers_message_format() -> None:
    """The browser formats Gradio's translations as ICU messages: braces would be read as arguments and a doubled
    apostrophe as an escape. The page text must have neither (messages rendered on the server may)."""
    for table in CATALOG.values():
        for key, text in table.items():
            if key.startswith("ui."):
                assert "{" not in text and "}" not in text and "''" not in text, key


KEY_PATTERNS = [
    re.compile(r"""\bUI\(\s*["']([^"']+)["']"""),
    re.compile(r"""\bMsg\(\s*["']([^"']+)["']"""),
    re.compile(r"""\bt\(\s*[\w."']+\s*,\s*["']([^"']+)["']"""),
    re.compile(r"""\bkey=["']([^"']+)["']"""),
]


def keys_used_in_code() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in STUDIO.rglob("*.py"):
        if path.name == "i18n.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in KEY_PATTERNS:
            for key in pattern.findall(text):
                found.setdefault(key, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_key_the_code_uses_exists_in_both_languages() -> None:
    used = keys_used_in_code()
    assert len(used) > 150, f"the scan found only {len(used)} keys: has the code's way of naming them changed?"
    missing = {key: files for key, files in used.items() if key not in EN or key not in ZH}
    assert not missing, missing


def test_keys_made_at_run_time_exist_too() -> None:
    from studio.phases import RECORDED, Phase

    made = [f"phase.{p.value}" for p in Phase] + [f"history.status.{s.value}" for s in RECORDED]
    made += [f"fit.{f}" for f in ("crop", "pad", "as-is")]
    made += [f"uri.data_{what}_{kind}" for what in ("wrong_kind", "too_large") for kind in ("image", "video")]
    assert [key for key in made if key not in EN or key not in ZH] == []


def test_every_field_tab_provider_and_key_source_name_is_translated() -> None:
    from studio.capabilities import PROVIDERS
    from studio.requests import REQUEST_TYPES

    slots = {slot.label for request in REQUEST_TYPES.values() for slot in request.SLOTS.values()}
    names = {*LABELS.values(), *FRAME_LABELS.values(), *ENDPOINT_LABELS.values(), *slots}
    names |= {p.label for p in PROVIDERS.values() if p.name == "simulator"} | {"simulator", "server key", "your key"}
    names |= {"Endpoint", "Request", "API key", "Cost", "Video", "Output"}
    untranslated = sorted(name for name in names if f"label.{name}" not in ZH)
    assert untranslated == []
    assert Label("First frame").render("zh-CN") == "首帧" and Label("Last frame").render("zh-CN") == "尾帧"
    assert Label("Prompt").render("zh-CN") == "提示词" and Label("Ratio").render("zh-CN") == "画面比例"
    assert Label("Duration").render("zh-CN") == "时长" and Label("Seed").render("zh-CN") == "随机种子"
    assert Label("gen4_turbo").render("zh-CN") == "gen4_turbo"  # not a name the catalog knows: kept as it is


def test_an_unknown_key_is_an_error_and_an_unknown_language_is_english() -> None:
    with pytest.raises(KeyError):
        t("en", "no.such.key")
    with pytest.raises(KeyError):
        Msg("req.requierd", field="x")  # a typo fails where it is made, not when a visitor sees it
    assert t("fr", "ui.generate") == "Generate"


# --- the visitor's language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN,en;q=0.5", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5,zh-CN;q=0.9", "zh-CN"),  # q-values, not the order written, decide
        ("zh-TW", "en"),  # Traditional is not Simplified
        ("zh-HK,zh-Hant;q=0.9", "en"),
        ("zh-TW,zh;q=0.8,en;q=0.5", "zh-CN"),  # ...but plain Chinese is the next choice
        ("fr-FR,fr;q=0.9", "en"),
        ("fr,zh-CN;q=0.5", "zh-CN"),  # French is not offered: the next language that is
        ("zh-CN;q=0", "en"),  # q=0: not acceptable
        ("*", "en"),
        ("zh-CN;q=abc,en", "en"),
    ],
)
def test_language_of_accept_language(header: str | None, language: str) -> None:
    assert language_of(header) == language


def test_request_language_reads_the_header_case_insensitively() -> None:
    class Headers(dict):
        def get(self, key: str, default: object = None) -> object:
            return super().get(key.lower(), default)

    class Request:
        headers = Headers({"accept-language": "zh-CN,zh;q=0.9"})

    assert i18n.request_language(Request()) == "zh-CN"
    assert i18n.request_language(None) == "en"


# --- messages: English unchanged, Chinese for a Chinese visitor ------------------------------------------------


def test_a_wrong_ratio_is_named_in_chinese_with_the_value_kept() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_request(
            "image_to_video",
            {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:768", "duration": 5},
            provider=OPENAI_HK,
        )
    (issue,) = info.value.issues
    assert issue.key == "req.ratio_unavailable" and issue.params["ratio"] == "1280:768"
    english = localize(issue, "en")
    assert english == str(issue.message) == str(info.value)
    assert english.startswith("Ratio 1280:768 is not available for gen4_turbo. Choose one of 1280:720, ")
    zh = localize(issue, "zh-CN")
    assert "1280:768" in zh and "gen4_turbo" in zh and "画面比例" in zh and chinese(zh)
    assert "、" in zh  # the allowed ratios, listed the Chinese way
    assert localize(info.value, "zh-CN") == zh


def test_a_missing_first_frame_names_the_field_in_chinese() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_request(
            "image_to_video", {"model": "gen4_turbo", "promptImage": [], "ratio": "1280:720"}, provider=OPENAI_HK
        )
    texts = [localize(issue, "zh-CN") for issue in info.value.issues]
    assert any("首帧" in text for text in texts), texts
    assert [localize(issue, "en") for issue in info.value.issues] == [str(issue.message) for issue in info.value.issues]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "seed": -1},
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "promptText": "x" * 1001},
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "promptText": "a\x07b"},
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "duration": 7},
        {"model": "gen4_turbo", "promptImage": "http://example.com/a.png", "ratio": "1280:720"},
        {"model": "gen4_turbo", "promptImage": [{"uri": IMG, "position": "last"}], "ratio": "1280:720"},
        {"model": "nope", "promptImage": IMG, "ratio": "1280:720"},
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "seed": "abc"},
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "colour": "red"},
        {"model": "gen4_turbo", "promptImage": "data:image/png;base64,AAA", "ratio": "1280:720"},
    ],
)
def test_every_request_issue_has_a_key_and_says_itself_in_chinese(body: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_request("image_to_video", body, provider=OPENAI_HK)
    for issue in info.value.issues:
        assert issue.key, issue
        assert localize(issue, "en") == str(issue.message)
        assert chinese(localize(issue, "zh-CN")), issue


def test_a_gif_is_refused_in_chinese_naming_the_field_and_formats() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "GIF")
    with pytest.raises(MediaError) as info:
        prepare_image(buffer.getvalue(), field="First frame", ratio="1280:720", limits=InputLimits())
    err = info.value
    assert str(err) == "First frame: GIF images are not accepted. Use a JPEG, PNG or WebP image."
    assert localize(err, "en") == str(err)
    zh = localize(err, "zh-CN")
    assert zh.startswith("首帧：") and "GIF" in zh and "JPEG、PNG 或 WebP" in zh, zh


def test_a_text_file_renamed_png_is_refused_in_chinese(tmp_path: Path) -> None:
    fake = tmp_path / "photo.png"
    fake.write_text("not an image at all", encoding="utf-8")
    with pytest.raises(MediaError) as info:
        prepare_image(fake, field="Reference image", ratio="1280:720", limits=SIMULATOR.limits)
    assert localize(info.value, "zh-CN").startswith("参考图：")


def test_provider_errors_and_failure_reasons_translate() -> None:
    from studio.client import _may_exist
    from studio.tasks import explain_failure

    reason = explain_failure("INPUT_PREPROCESSING.SAFETY.TEXT", "flagged")
    assert str(reason.message) == (
        "Blocked by content moderation: your prompt did not pass (provider said: flagged). Credits are charged for "
        "moderated tasks; change the input before trying again."
    )
    zh = localize(reason.message, "zh-CN")
    assert "内容审核" in zh and "你的提示词" in zh and "flagged" in zh
    assert localize(explain_failure(None, None).message, "zh-CN") == "任务失败（代码 未提供）。"
    err = TaskMayExist(_may_exist(Msg("client.why_unreadable")))
    assert str(err).startswith(
        "The request may have reached the provider, but the provider's answer could not be read."
    )
    assert err.key == "client.may_exist" and chinese(localize(err, "zh-CN"))
    plain = TaskMayExist("something the provider said")  # no key: English everywhere
    assert plain.key is None and localize(plain, "zh-CN") == "something the provider said"


def test_spend_guard_messages_translate() -> None:
    import datetime as dt

    from studio.spend import Budget

    now = dt.datetime(2026, 1, 1, 21, 30, tzinfo=dt.timezone.utc)
    budget = Budget(deployment_left=120, visitor_left=40, resets_at=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc))
    text = budget.describe(now)
    assert (
        str(text)
        == "120 credits left today on this studio, 40 for you (server key; resets at 00:00 UTC (in 2 h 30 min))."
    )
    assert (
        localize(text, "zh-CN")
        == "本工作室今天还剩 120 积分，你还剩 40 积分（服务器密钥；于 UTC 00:00（2 小时 30 分钟后）重置）。"
    )


# --- the text itself: a message that knows its translation, and says English as a str ---------------------------------


def test_a_message_is_its_english_string() -> None:
    message = Msg("req.required", field=Label("Seed"))
    assert str(message) == "Seed is required." and not isinstance(message, str)  # types no longer lie
    assert message == Msg("req.required", field=Label("Seed")) != Msg("req.required", field=Label("Prompt"))
    assert f"{message}" == "Seed is required." and message.render("zh-CN") == "随机种子为必填项。"
    copy = pickle.loads(pickle.dumps(message))
    assert copy == message and copy.render("zh-CN") == "随机种子为必填项。"
    assert i18n.loads(i18n.dumps(message)).render("zh-CN") == "随机种子为必填项。"
    assert i18n.dumps("plain") is None and i18n.loads(None, "plain") == "plain"
    assert (
        str(Join(["a", "b", "c"], "list_or")) == "a, b or c"
        and Join(["a", "b", "c"], "list_or").render("zh-CN") == "a、b 或 c"
    )


def test_field_issue_equality_ignores_the_translation() -> None:
    keyed = FieldIssue("Seed", Msg("req.required", field=Label("Seed")))
    assert keyed == FieldIssue("Seed", "Seed is required.") and keyed.key == "req.required"
    assert hash(keyed) == hash(FieldIssue("Seed", "Seed is required."))
    assert FieldIssue("Seed", "plain words").localized("zh-CN") == "plain words"


def test_job_status_carries_its_message_key() -> None:
    status = JobStatus("queued", Msg("job.queued"))
    assert str(status.message) == "Queued: the provider will start it shortly."
    assert status.message_key == "job.queued" and status.params == {}
    assert localize(status.message, "zh-CN") == "排队中：服务商很快就会开始处理。"
    assert JobStatus("queued", "plain").message_key is None


def test_the_status_panel_speaks_chinese() -> None:
    from studio.ui.status import error_html, status_html

    running = JobStatus(
        "running",
        Msg("job.generating"),
        progress=0.42,
        elapsed_s=3.0,
        task_id="t-1",
        seed=7,
        notes=(Msg("form.reencoded", field=Label("Input video")),),
    )
    zh = status_html(running, "zh-CN")
    assert "<b>生成中</b>" in zh and "正在生成…" in zh and "任务" in zh and "随机种子：<code>7</code>" in zh
    assert "输入视频：已重新编码为 H.264" in zh and 'data-phase="running" data-progress="42"' in zh
    en = status_html(running)
    assert "<b>Running</b>" in en and "Generating…" in en and "Seed used: <code>7</code>" in en and "task <code" in en
    for phase in ("succeeded", "failed", "cancelled", "queued", "throttled", "lost", "interrupted"):
        assert chinese(status_html(JobStatus(phase, Msg("job.cancelled")), "zh-CN"))  # type: ignore[arg-type]
    assert "准备就绪" in status_html(None, "zh-CN") and "Ready. Fill in the form and press Generate." in status_html(
        None
    )
    invalid = error_html(["首帧为必填项。"], "zh-CN")
    assert "<b>未发送</b>" in invalid and "<li>首帧为必填项。</li>" in invalid
    assert "<b>Not sent</b> · fix the form and try again (nothing was charged)" in error_html(
        "First frame is required."
    )


def test_history_keeps_why_a_generation_failed_in_every_language(tmp_path: Path) -> None:
    from studio.history import HistoryStore, NewGeneration
    from studio.ui.gallery import details_markdown, grid_html

    store = HistoryStore(tmp_path / "history.sqlite3")
    try:
        new = NewGeneration(
            visitor="v",
            provider="simulator",
            endpoint="image_to_video",
            model="gen4_turbo",
            form={"prompt_text": "waves"},
            estimated_credits=25,
            key_source="simulator",
            seed=3,
            output_seconds=5,
        )
        store.add(new)
        reason = Msg("failure.transient", detail=Msg("failure.said", failure="busy"))
        store.record(new.id, "failed", failure_code="INTERNAL", failure_reason=reason)
        row = store.get(new.id)
        assert (
            row is not None
            and row.failure_reason
            == "The provider had a temporary problem (provider said: busy). It is safe to try again."
        )
        details = details_markdown(row, [row], "zh-CN")
        assert "**失败原因**：服务商出现临时问题（服务商反馈：busy）。可以放心重试。" in details
        assert "图生视频" in details and "模拟器" in details and "**提示词**：waves" in details
        tile = grid_html(
            [row], selected=None, marked=(), lang="zh-CN", link=str
        )  # its date, tab, model, status, prompt
        for text in ("图生视频", "gen4_turbo", "失败", "waves", "对比", "加星标"):
            assert text in tile, text
        english = details_markdown(row, [row])
        assert english.startswith("**Image to Video** · `gen4_turbo` on Simulator · openai-hk · Failed")
        assert (
            "**Why it failed:** The provider had a temporary problem (provider said: busy). It is safe to try again."
            in english
        )
    finally:
        store.close()


# --- the page: labels are keys for the browser, English for the API ---------------------------------------------


def test_page_labels_are_keys_and_the_api_reads_english() -> None:
    from studio.ui.gradio_compat import english as english_with
    from studio.ui.translations import UI, english_of, page_text

    def english(value: object) -> object:
        return english_with(value, english_of)

    label = UI("ui.seed") + " (0–4294967295)"
    assert "__i18n__" in label and english(label) == "Seed (0–4294967295)"
    assert english(UI("ui.first_frame")) == "First frame"
    assert english({"label": {"key": "ui.tab_history", "_type": "translation_metadata"}}) == {"label": "History"}
    built = page_text(lambda lang: t(lang, "page.cost_per_second", credits=5, usd=0.05))
    assert UI.translations["en"][built.key] == "Cost: 5 credits ($0.05) per second of output."
    assert UI.translations["zh-CN"][built.key] == "费用：每秒输出 5 积分（$0.05）。"
    assert english(built) == "Cost: 5 credits ($0.05) per second of output."
    assert all(k.startswith("ui.") for table in UI.translations.values() for k in table)


def test_the_launched_page_offers_both_languages_and_english_api_labels(tmp_path: Path) -> None:
    from studio.settings import Settings
    from studio.ui.app import assemble, launch_options

    studio, demo = assemble(Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path)}))
    options = launch_options(studio, max_upload_mb=10)
    assert set(options["i18n"].translations) == {"en", "zh-CN"}
    labels = [p["label"] for p in demo.get_api_info()["named_endpoints"]["/generate_image_to_video"]["parameters"]]
    assert "First frame" in labels and "Seed (0–4294967295)" in labels and not any("__i18n__" in str(x) for x in labels)
