"""Canaries for ``studio.ui.gradio_compat``: each runs Gradio *without* its work-around and asserts that upstream
still behaves the way the work-around exists for. When one fails, upstream has changed: delete (or rewrite) that
work-around. Beside each canary, a test that the work-around does its job, and one that another Gradio version is
refused loudly."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.data_classes import FileData
from gradio.state_holder import SessionState, StateHolder

from studio.ui import gradio_compat
from studio.ui.translations import UI, english_of

# --- keep_session_ids ---------------------------------------------------------------------------------------------


def _session_growth(setitem: object, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many entries a page's session gains over three rounds of an update and a plain value, the way a
    generate stream sends them, with ``setitem`` as SessionState's item setter."""
    monkeypatch.setattr(SessionState, "__setitem__", setitem)
    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(lambda: None, None, box)
    fn = next(iter(demo.fns.values()))
    state = SessionState(demo)
    before = len(state.blocks_config.blocks)

    async def rounds() -> None:
        for _ in range(3):
            await demo.postprocess_data(fn, gr.update(label="x"), state)
            await demo.postprocess_data(fn, "a plain value", state)

    asyncio.run(rounds())
    return len(state.blocks_config.blocks) - before


def _original_setitem() -> object:
    current = SessionState.__setitem__
    return getattr(current, "original", current)


def test_canary_gradio_still_grows_a_session_with_each_update(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _session_growth(_original_setitem(), monkeypatch) == 3, "fixed upstream: delete keep_session_ids"


def test_keep_session_ids_keeps_the_session_the_size_of_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SessionState, "__setitem__", _original_setitem())
    gradio_compat.keep_session_ids()
    gradio_compat.keep_session_ids()  # idempotent
    patched = SessionState.__setitem__
    assert getattr(patched, "original", None) is _original_setitem()
    assert _session_growth(patched, monkeypatch) == 0


# --- direct_peers ------------------------------------------------------------------------------------------------


def _server_config(init: object, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The uvicorn config a Gradio server is made with, ``init`` as the server's constructor."""
    import uvicorn
    from gradio import http_server

    monkeypatch.setattr(http_server.Server, "__init__", init)
    config = uvicorn.Config(app=lambda *_: None)
    http_server.Server(config)
    return config


def _original_server_init() -> object:
    from gradio import http_server

    init = http_server.Server.__init__
    return getattr(init, "original", init)


def test_canary_gradios_uvicorn_believes_x_forwarded_for_from_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _server_config(_original_server_init(), monkeypatch)
    assert config.proxy_headers and "127.0.0.1" in str(config.forwarded_allow_ips), (
        "fixed upstream: delete direct_peers"
    )


def test_direct_peers_leaves_the_forwarded_address_to_the_studio(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio import http_server

    monkeypatch.setattr(http_server.Server, "__init__", _original_server_init())
    gradio_compat.direct_peers()
    gradio_compat.direct_peers()  # idempotent
    patched = http_server.Server.__init__
    assert getattr(patched, "original", None) is _original_server_init()
    assert _server_config(patched, monkeypatch).proxy_headers is False


# --- drop_departed_sessions -------------------------------------------------------------------------------------


def _holder_with_closed_session(hours_ago: float) -> StateHolder:
    with gr.Blocks() as demo:
        gr.State(1)
    holder = StateHolder()
    holder.set_blocks(demo)
    session = holder["closed-page"]
    session.is_closed = True
    holder.time_last_used["closed-page"] = dt.datetime.now() - dt.timedelta(hours=hours_ago)
    return holder


def test_canary_gradio_never_drops_a_closed_pages_session() -> None:
    holder = _holder_with_closed_session(hours_ago=5)
    holder.delete_all_expired_state()  # what Gradio runs to expire state
    assert "closed-page" in holder.session_data, "fixed upstream: delete drop_departed_sessions"


def test_drop_departed_sessions_drops_it_after_the_ttl_only() -> None:
    holder = _holder_with_closed_session(hours_ago=0.5)
    assert gradio_compat.drop_departed_sessions(holder, now=dt.datetime.now(), ttl_s=3600) == 0
    holder.time_last_used["closed-page"] -= dt.timedelta(hours=1)
    assert gradio_compat.drop_departed_sessions(holder, now=dt.datetime.now(), ttl_s=3600) == 1
    assert "closed-page" not in holder.session_data


# --- components that pass values through -------------------------------------------------------------------------


def test_canary_gradios_own_checks_name_no_field(tmp_path: Path) -> None:
    with pytest.raises(gr.Error) as slider:
        gr.Slider(1, 5, label="Expression intensity").preprocess(6)
    assert "Expression intensity" not in str(slider.value), "fixed upstream: RawSlider may go"
    with pytest.raises(gr.Error) as radio:
        gr.Radio(["crop", "pad"], label="Fit").preprocess("zoom")
    assert "Fit" not in str(radio.value), "fixed upstream: RawRadio and ChoiceRadio may go"
    with pytest.raises(TypeError):
        gr.Number(label="Seed", precision=0).preprocess("abc")  # an internal error, hidden as a bare "Error"
    broken = tmp_path / "photo.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(Exception) as image:  # Pillow's own error, whatever its class
        gr.Image(type="filepath", label="First frame").preprocess(FileData(path=str(broken)))
    assert not isinstance(image.value, gr.Error), "fixed upstream: RawImage may go"


def test_raw_components_hand_the_value_on_and_keep_their_frontend(tmp_path: Path) -> None:
    assert gradio_compat.RawSlider(1, 5).preprocess(6) == 6
    assert gradio_compat.RawRadio(["crop"]).preprocess("zoom") == "zoom"
    assert gradio_compat.RawNumber(precision=0).preprocess("abc") == "abc"
    broken = tmp_path / "photo.png"
    broken.write_bytes(b"not an image")
    image = gradio_compat.RawImage(type="filepath", label="First frame", value=None)
    assert image.preprocess(FileData(path=str(broken))) == str(broken)
    assert image.get_block_name() == "image" and image.get_config()["label"] == "First frame"


def test_choice_radio_names_its_field_and_choices_and_keeps_its_frontend() -> None:
    radio = gradio_compat.ChoiceRadio([("Simulator", "simulator"), ("Runway", "runway")], label="Provider")
    assert radio.preprocess("runway") == "runway"
    with pytest.raises(gr.Error) as refused:
        radio.preprocess("nope")
    assert str(refused.value.message) == "Provider: 'nope' is not known. Use one of: simulator, runway."
    assert radio.get_block_name() == "radio" and radio.get_config()["label"] == "Provider"
    dropdown = gradio_compat.ChoiceDropdown([("All", "all"), ("Failed", "failed")], label="Status")
    assert dropdown.preprocess("failed") == "failed" and dropdown.preprocess(None) is None  # empty: any
    with pytest.raises(gr.Error) as unknown:
        dropdown.preprocess("lost")
    assert unknown.value.message == "Status: 'lost' is not known. Use one of: all, failed."
    assert dropdown.get_block_name() == "dropdown"


# --- translations ------------------------------------------------------------------------------------------------


def test_canary_the_api_description_carries_translation_keys() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox(label=UI("ui.prompt"))
        gr.Button().click(lambda text: text, box, box, api_name="echo")
    labels = [p["label"] for p in demo.get_api_info()["named_endpoints"]["/echo"]["parameters"]]
    assert "__i18n__" in str(labels), "fixed upstream: english() may go"
    assert gradio_compat.english(labels, english_of) == ["Prompt"]


def test_canary_i18n_has_no_way_to_add_a_translation_later() -> None:
    public = {name for name in dir(gr.I18n) if not name.startswith("_")}
    assert public == {"translations_dict"}, f"upstream grew {public}: use it instead of add_translation"
    i18n = gr.I18n(en={"a": "A"})
    gradio_compat.add_translation(i18n, "en", "b", "B")
    assert i18n.translations_dict["en"]["b"] == "B" and gradio_compat.translation(i18n, "en", "b") == "B"


# --- the version check ----------------------------------------------------------------------------------------


def test_another_gradio_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gr, "__version__", "7.0.0")
    with pytest.raises(gradio_compat.GradioVersionError, match="keep_session_ids.*7.0.0.*test_gradio_compat"):
        gradio_compat.keep_session_ids()
    with pytest.raises(gradio_compat.GradioVersionError, match="RawImage"):
        gradio_compat.RawImage().get_block_name()
    with pytest.raises(gradio_compat.GradioVersionError, match="english"):
        gradio_compat.english("x", english_of)


# --- served_file, ServedVideo, ServedDownload, forget_cached, root_url --------------------------------------------


def _postprocessed(component: Any, value: Any) -> Any:
    """What Gradio sends the page for ``value`` returned to ``component`` (its files moved to the cache as it does)."""
    with gr.Blocks() as demo:
        out = component
        gr.Button().click(lambda: None, None, out)
    fn = next(iter(demo.fns.values()))
    data = asyncio.run(demo.postprocess_data(fn, value, SessionState(demo)))
    return data[0]


def _clip(tmp_path: Path) -> Path:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return clip


def test_canary_gradio_copies_a_returned_clip_into_its_cache(tmp_path: Path) -> None:
    from gradio.utils import get_upload_folder

    sent = _postprocessed(gr.Video(), str(_clip(tmp_path)))
    path = Path(sent["video"]["path"] if "video" in sent else sent["path"])
    assert path.is_relative_to(Path(get_upload_folder())), sent  # served from there to anyone, for a day


def test_served_components_hand_the_studios_link_on_untouched(tmp_path: Path) -> None:
    from gradio.utils import get_upload_folder

    url = "https://space.example/studio/files/1/sig/outputs/clip.mp4"
    for component in (gradio_compat.ServedVideo(), gradio_compat.ServedDownload()):
        sent = _postprocessed(component, gradio_compat.served_file(url, name="clip.mp4"))
        value = sent.get("video", sent) if isinstance(sent, dict) else sent
        assert value["url"] == url, sent
        assert not str(value["path"]).startswith(str(get_upload_folder())), sent


def test_forget_cached_removes_the_copy_gradio_made(tmp_path: Path) -> None:
    clip = _clip(tmp_path)
    sent = _postprocessed(gr.Video(), str(clip))
    cached = Path(sent["video"]["path"] if "video" in sent else sent["path"])
    assert cached.is_file()
    gradio_compat.forget_cached(clip)
    assert not cached.exists(), "Gradio keeps its copies somewhere else now: rewrite forget_cached"


def test_root_url_is_the_address_the_visitor_used_behind_a_proxy() -> None:
    from starlette.requests import Request

    class App:
        root_path = ""

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "server": ("10.0.0.5", 7860),
        "path": "/gradio_api/queue/join",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"10.0.0.5:7860"),
            (b"x-forwarded-host", b"me-studio.hf.space"),
            (b"x-forwarded-proto", b"https"),
        ],
        "app": App(),
    }
    assert gradio_compat.root_url(gr.Request(request=Request(scope))) == "https://me-studio.hf.space"
