"""Runway's current official models in the table, their rules, prices and wire shapes.

Facts come from ``tests/fixtures/api/runway-api.md`` ("The official API as of late 2026") and the official SDK's
``types/`` (runwayml 5.24): a wrong table fails here even though the client and the simulator would agree with it.
"""

from __future__ import annotations

from typing import Any

import pytest

from studio.capabilities import ENDPOINTS, OPENAI_HK, PROVIDERS, RUNWAY, SIMULATOR, SIMULATOR_RUNWAY
from studio.errors import InvalidInput
from studio.forms import Form, KeyframeInput, MediaInput, check_form
from studio.pricing import estimate
from studio.requests import LABELS, REQUEST_TYPES, parse_request

IMG = "https://cdn.example.com/frames/first.png"
IMG2 = "https://cdn.example.com/frames/last.png"
VID = "https://cdn.example.com/clips/in.mp4"
VEO_RATIOS = {"1280:720", "720:1280", "1080:1920", "1920:1080"}


def spec(name: str, endpoint: str, provider: Any = RUNWAY) -> Any:
    found = provider.model(name, endpoint)
    assert found is not None, (name, endpoint, provider.name)
    return found


def issues(endpoint: str, body: dict[str, Any], provider: Any = RUNWAY) -> list[Any]:
    with pytest.raises(InvalidInput) as info:
        parse_request(endpoint, body, provider=provider)
    return info.value.issues


# --- the table --------------------------------------------------------------------------------------------------


def test_gen4_5_image_to_video() -> None:
    gen = spec("gen4.5", "image_to_video")
    assert gen.prompt_required and gen.ratio_required and gen.duration_required
    assert gen.positions == ("first",) and len(gen.ratios) == 6 and gen.durations == tuple(range(2, 11))
    assert gen.credits_per_second == 12 and not gen.price_is_estimate


@pytest.mark.parametrize(("name", "silent", "loud"), [("veo3.1", 20, 40), ("veo3.1_fast", 10, 15)])
@pytest.mark.parametrize("endpoint", ["image_to_video", "text_to_video"])
def test_veo_3_1(name: str, silent: int, loud: int, endpoint: str) -> None:
    veo = spec(name, endpoint)
    assert set(veo.ratios) == VEO_RATIOS and veo.durations == (4, 6, 8)
    assert set(veo.options) == {"audio", "negativePrompt"}  # Veo refuses unknown fields: no contentModeration
    assert (veo.credits_per_second, veo.audio_credits_per_second) == (silent, loud)
    if endpoint == "image_to_video":
        assert veo.positions == ("first", "last")


def test_aleph2() -> None:
    aleph = spec("aleph2", "video_to_video")
    assert aleph.ratios == () and aleph.default_ratio is None  # the output keeps the input's resolution
    rule = aleph.video_inputs["videoUri"]
    assert (rule.min_seconds, rule.max_seconds, rule.max_fps, rule.use_first_seconds) == (2.0, 30.0, 30.0, None)
    assert aleph.max_keyframes == 5 and "references" not in aleph.options
    assert set(aleph.outpaint_aspects) == {"16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "21:9"}
    assert (aleph.credits_per_second, aleph.minimum_credits, aleph.price_is_estimate) == (28, 56, True)


def test_text_to_video_gen4_5_ratios() -> None:
    assert set(spec("gen4.5", "text_to_video").ratios) == {"1280:720", "720:1280"}


def test_the_proxy_keeps_its_table_and_labels_the_legacy_models() -> None:
    names = {(m.name, m.endpoint) for m in OPENAI_HK.models}
    assert names == {
        ("gen4_turbo", "image_to_video"),
        ("gen3a_turbo", "image_to_video"),
        ("gen4_aleph", "video_to_video"),
        ("act_two", "character_performance"),
    }
    assert {m.name for m in OPENAI_HK.models if m.legacy} == {"gen3a_turbo", "gen4_aleph"}
    assert not any(m.legacy for m in RUNWAY.models)
    assert not {"gen3a_turbo", "gen4_aleph"} & RUNWAY.model_names  # removed upstream


def test_each_simulator_follows_one_real_providers_rules() -> None:
    assert SIMULATOR.models == OPENAI_HK.models and SIMULATOR.limits == OPENAI_HK.limits
    assert SIMULATOR_RUNWAY.models == RUNWAY.models and SIMULATOR_RUNWAY.limits == RUNWAY.limits
    assert RUNWAY.limits.uploads and not OPENAI_HK.limits.uploads
    assert RUNWAY.limits.video_data_uri_bytes == 5 * 1024 * 1024  # SDK 5.24: video data URIs up to 5 MB
    assert (RUNWAY.limits.upload_min_bytes, RUNWAY.limits.upload_max_bytes) == (512, 200_000_000)


def test_every_wire_field_has_a_name_a_designer_reads() -> None:
    for request in REQUEST_TYPES.values():
        for name, field in request.model_fields.items():
            assert LABELS[field.alias or name] == field.title, name


# --- prices -------------------------------------------------------------------------------------------------------


def test_veo_prices_follow_the_sound() -> None:
    veo = spec("veo3.1", "image_to_video")
    assert estimate(veo, seconds=8).credits == 320  # audio is on unless turned off
    assert estimate(veo, seconds=8, audio=False).credits == 160
    assert estimate(spec("veo3.1_fast", "text_to_video"), seconds=4, audio=True).credits == 60


def test_aleph2_has_a_minimum_and_says_its_price_is_an_estimate() -> None:
    aleph = spec("aleph2", "video_to_video")
    assert estimate(aleph, seconds=1.2).credits == 56  # 2 s x 28 = 56: the minimum
    assert estimate(aleph, seconds=10).credits == 280
    short = estimate(aleph, seconds=1)
    assert short.credits == 56 and short.third_party and "third-party" in str(short.describe())


# --- requests -----------------------------------------------------------------------------------------------------


def test_veo_takes_a_last_frame_but_not_a_last_frame_alone() -> None:
    both = [{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}]
    body = {"model": "veo3.1", "promptImage": both, "ratio": "1280:720", "duration": 8}
    assert parse_request("image_to_video", body, provider=RUNWAY).to_wire()["promptImage"] == both
    found = issues("image_to_video", body | {"promptImage": [{"uri": IMG2, "position": "last"}]})
    assert [i.field for i in found] == ["First frame"]


def test_gen4_5_refuses_a_last_frame_and_needs_a_duration() -> None:
    base = {"model": "gen4.5", "promptImage": IMG, "ratio": "1280:720", "promptText": "waves"}
    assert [str(i.message) for i in issues("image_to_video", base)] == [
        "Duration is required for gen4.5. Choose 2, 3, 4, 5, 6, 7, 8, 9, 10 seconds."
    ]
    both = [{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}]
    found = issues("image_to_video", base | {"duration": 5, "promptImage": both})
    assert [i.field for i in found] == ["Last frame"] and "veo3.1" in str(found[0].message)


def test_veo_refuses_fields_it_does_not_know() -> None:
    body = {
        "model": "veo3.1",
        "promptText": "rain",
        "ratio": "1280:720",
        "contentModeration": {"publicFigureThreshold": "low"},
    }
    (found,) = issues("text_to_video", body)
    assert found.field == "Public figure threshold" and "veo3.1 takes no" in str(found.message)


def test_a_negative_prompt_is_counted_like_a_prompt() -> None:
    body = {"model": "veo3.1_fast", "promptText": "rain", "ratio": "1280:720", "negativePrompt": "x" * 1001}
    (found,) = issues("text_to_video", body)
    assert found.field == "Negative prompt" and str(found.message).startswith("Negative prompt is 1001 characters")
    (proxy,) = issues(
        "image_to_video",
        {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "negativePrompt": "x"},
        OPENAI_HK,
    )
    assert str(proxy.message) == "gen4_turbo takes no Negative prompt setting."


def test_aleph2_refuses_gen4_alephs_fields() -> None:
    body = {"model": "aleph2", "videoUri": VID, "references": [{"type": "image", "uri": IMG}]}
    (found,) = issues("video_to_video", body)
    assert found.field == "Reference image" and "aleph2 takes no" in str(found.message)
    (ratio,) = issues("video_to_video", {"model": "aleph2", "videoUri": VID, "ratio": "1280:720"})
    assert ratio.field == "Ratio" and "keeps the input video's size" in str(ratio.message)


def test_aleph2_keyframes_and_outpainting() -> None:
    frames = [{"uri": IMG, "seconds": 1.0}, {"uri": IMG2, "at": 0.5}]
    body = {"model": "aleph2", "videoUri": VID, "keyframes": frames, "targetAspectRatio": "21:9"}
    assert parse_request("video_to_video", body, provider=RUNWAY).to_wire()["keyframes"] == frames
    messages = lambda body: [str(i.message) for i in issues("video_to_video", body)]  # noqa: E731
    assert messages(body | {"keyframes": [{"uri": IMG, "seconds": 1}] * 6}) == [
        "aleph2 takes at most 5 keyframes; 6 were given."
    ]
    assert messages(body | {"keyframes": [{"uri": IMG, "seconds": 1, "at": 0.1}]}) == [
        "Keyframe 1: give either seconds or a fraction (at), not both or neither."
    ]
    assert messages(body | {"keyframes": [{"uri": IMG, "at": 1.5}]}) == [
        "Keyframe 1: the fraction 1.5 is outside 0 to 1."
    ]
    windowed = [
        {"uri": IMG, "seconds": 9, "range": {"start_seconds": 2, "end_seconds": 6}},
        {"uri": IMG2, "seconds": 1},
    ]
    assert messages(body | {"keyframes": windowed}) == [
        "Either every keyframe has an edit window or none does.",
        "Keyframe 1: 9 s is outside its edit window 2–6 s.",
    ]
    assert messages(body | {"targetAspectRatio": "5:4"})[0].startswith("Outpaint to 5:4 is not available for aleph2.")
    empty = [{"uri": IMG, "seconds": 0, "range": {"start_seconds": 0, "end_seconds": 0}}]
    assert messages(body | {"keyframes": empty}) == [
        "Keyframe 1: the edit window 0–0 s must start at 0 s or later and end after it starts."
    ]
    (shape,) = issues("video_to_video", body | {"keyframes": [frames[0], {"uri": IMG, "seconds": "soon"}]})
    assert shape.field == "Keyframe 2"  # a malformed keyframe is named by its place, not as "Keyframes"


def test_a_runway_upload_uri_is_an_input_on_the_official_api_only() -> None:
    body = {"model": "aleph2", "videoUri": "runway://uploads/abc"}
    assert parse_request("video_to_video", body, provider=RUNWAY).video_uri == "runway://uploads/abc"
    proxy = {"model": "gen4_aleph", "videoUri": "runway://uploads/abc", "ratio": "1280:720", "promptText": "x"}
    (found,) = issues("video_to_video", proxy, OPENAI_HK)
    assert found.field == "Input video" and "official API only" in str(found.message)


# --- forms -> bodies ----------------------------------------------------------------------------------------------


def test_a_veo_form_sends_its_sound_and_negative_prompt() -> None:
    form = Form.of(
        "text_to_video",
        model="veo3.1",
        ratio="1080:1920",
        duration=6,
        prompt_text="rain on neon",
        audio=False,
        negative_prompt="blur",
        seed=3,
    )
    check_form(form, provider=RUNWAY)
    body = REQUEST_TYPES["text_to_video"].body_from(form.values, {})
    assert body == {
        "model": "veo3.1",
        "ratio": "1080:1920",
        "seed": 3,
        "promptText": "rain on neon",
        "duration": 6,
        "audio": False,
        "negativePrompt": "blur",
    }


def test_a_keyframe_form_round_trips_and_becomes_the_wire_shape() -> None:
    keyframes = [
        KeyframeInput(MediaInput(url=IMG), seconds=0.5, start=0, end=2),
        KeyframeInput(MediaInput(url=IMG2), at=0.9, start=3, end=9),
    ]
    form = Form.of("video_to_video", model="aleph2", video=MediaInput(url=VID), keyframes=keyframes)
    check_form(form, provider=RUNWAY)
    assert Form.from_dict("video_to_video", form.to_dict()) == form
    assert set(form.media()) == {"video", "reference", "keyframes.0", "keyframes.1"}
    uris = {"video": VID, "keyframes.0": "a", "keyframes.1": "b"}
    assert REQUEST_TYPES["video_to_video"].body_from(form.values, uris)["keyframes"] == [
        {"uri": "a", "seconds": 0.5, "range": {"start_seconds": 0, "end_seconds": 2}},
        {"uri": "b", "at": 0.9, "range": {"start_seconds": 3, "end_seconds": 9}},
    ]


def test_a_keyframe_without_its_image_is_named() -> None:
    form = Form.of(
        "video_to_video", model="aleph2", video=MediaInput(url=VID), keyframes=[KeyframeInput(MediaInput(), seconds=1)]
    )
    with pytest.raises(InvalidInput) as info:
        check_form(form, provider=RUNWAY)
    assert [i.field for i in info.value.issues] == ["Keyframe 1"]


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_every_provider_has_models_for_each_tab_or_says_why(name: str) -> None:
    served = {m.endpoint for m in PROVIDERS[name].models}
    assert served <= set(ENDPOINTS)
    assert "image_to_video" in served and "character_performance" in served
    # The finishing passes are the official API's only: the proxy documents none of them.
    assert {"video_upscale", "video_to_audio"} <= served or PROVIDERS[name].models == OPENAI_HK.models
