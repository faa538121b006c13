"""Request validation: valid bodies round-trip to the exact wire JSON; each broken rule gets its own message naming
the field, the bad value and what is allowed. The proxy's documented examples are contract fixtures."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from studio.capabilities import OPENAI_HK, PROVIDERS, RUNWAY, SIMULATOR, ProviderSpec
from studio.errors import FieldIssue, InvalidInput
from studio.requests import parse_request
from tests.conftest import API_FIXTURES

IMG = "https://cdn.example.com/frames/first.png"
IMG2 = "https://cdn.example.com/frames/last.jpg"
VID = "https://cdn.example.com/clips/input.mp4"
PNG_URI = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 30).decode()
MP4_URI = "data:video/mp4;base64," + base64.b64encode(b"\0\0\0\x18ftypmp42" + b"\0" * 20).decode()


def issues(endpoint: str, body: Any, provider: ProviderSpec = OPENAI_HK) -> list[FieldIssue]:
    with pytest.raises(InvalidInput) as info:
        parse_request(endpoint, body, provider=provider)
    assert info.value.issues, "InvalidInput without issues"
    return info.value.issues


def only_issue(endpoint: str, body: Any, provider: ProviderSpec = OPENAI_HK) -> FieldIssue:
    found = issues(endpoint, body, provider)
    assert len(found) == 1, found
    return found[0]


def i2v(**fields: Any) -> dict[str, Any]:
    return {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720", "duration": 5} | fields


def v2v(**fields: Any) -> dict[str, Any]:
    return {"model": "gen4_aleph", "videoUri": VID, "promptText": "add a phone", "ratio": "1280:720"} | fields


def act(**fields: Any) -> dict[str, Any]:
    return {
        "model": "act_two",
        "character": {"type": "image", "uri": IMG},
        "reference": {"type": "video", "uri": VID},
        "ratio": "1280:720",
    } | fields


# --- one valid body per model per provider, and its exact wire JSON ------------------------------------------------

Example = tuple[str, dict[str, Any], dict[str, Any]]


def example(endpoint: str, body: dict[str, Any], **on_the_wire: Any) -> Example:
    """A valid body and the wire JSON expected from it: the body itself, but for the fields ``on_the_wire`` gives."""
    return endpoint, body, body | on_the_wire


FIRST = [{"uri": IMG, "position": "first"}]  # a string promptImage, as it goes on the wire
VALID: dict[tuple[str, str], Example] = {
    ("openai-hk", "gen4_turbo"): example(
        "image_to_video",
        {
            "model": "gen4_turbo",
            "promptImage": IMG,
            "ratio": "960:960",
            "duration": 10,
            "promptText": "wave",
            "seed": 4294967295,
            "watermark": False,
            "notify_hook": "https://hooks.example.com/runway",
            "contentModeration": {"publicFigureThreshold": "low"},
        },
        promptImage=FIRST,
    ),
    ("openai-hk", "gen3a_turbo"): example(
        "image_to_video",
        {
            "model": "gen3a_turbo",
            "promptImage": [{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}],
            "ratio": "768:1280",
            "duration": 10,
            "promptText": "a slow pan",
            "seed": 0,
        },
    ),
    ("openai-hk", "gen4_aleph"): example(
        "video_to_video",
        {
            "model": "gen4_aleph",
            "videoUri": MP4_URI,
            "promptText": "add a phone",
            "ratio": "848:480",
            "seed": 1,
            "references": [{"type": "image", "uri": PNG_URI}],
            "contentModeration": {"publicFigureThreshold": "auto"},
        },
    ),
    ("openai-hk", "act_two"): example(
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "video", "uri": VID},
            "reference": {"type": "video", "uri": MP4_URI},
            "bodyControl": True,
            "expressionIntensity": 5,
            "ratio": "720:1280",
            "seed": 7,
        },
    ),
    ("runway", "gen4_turbo"): example(
        "image_to_video",
        {
            "model": "gen4_turbo",
            "promptImage": [{"uri": PNG_URI, "position": "first"}],
            "ratio": "1584:672",
            "duration": 7,
        },
    ),
    ("runway", "act_two"): example(
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "image", "uri": PNG_URI},
            "reference": {"type": "video", "uri": VID},
        },
    ),
}
# The simulator serves openai-hk's table: the same bodies must pass there.
FRAMES = [{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}]
VEO_I2V = {
    "promptImage": FRAMES,
    "ratio": "1080:1920",
    "duration": 8,
    "audio": False,
    "negativePrompt": "blur",
    "seed": 5,
}
VEO_T2V = {"promptText": "rain on neon", "ratio": "1920:1080", "duration": 4, "audio": True, "negativePrompt": "text"}
GEN45_I2V = {"model": "gen4.5", "promptImage": IMG, "promptText": "waves", "ratio": "1584:672", "duration": 7}
GEN45_T2V = {"model": "gen4.5", "promptText": "a lantern", "ratio": "720:1280", "duration": 2}
KEYFRAMES = [{"uri": PNG_URI, "seconds": 1.5, "range": {"start_seconds": 1, "end_seconds": 3}}]
ALEPH2 = {"model": "aleph2", "videoUri": MP4_URI, "keyframes": KEYFRAMES, "targetAspectRatio": "21:9", "seed": 2}
VALID |= {
    ("runway", "gen4.5"): example("image_to_video", GEN45_I2V, promptImage=FIRST),
    ("runway", "veo3.1"): example("image_to_video", VEO_I2V | {"model": "veo3.1"}),
    ("runway", "veo3.1_fast"): example("image_to_video", VEO_I2V | {"model": "veo3.1_fast"}),
    ("runway", "aleph2"): example("video_to_video", ALEPH2),
    # The finishing passes (runwayml 5.24 types/video_upscale_create_params.py, video_to_audio_create_params.py).
    ("runway", "magnific_video_upscaler_creative"): example(
        "video_upscale",
        {
            "model": "magnific_video_upscaler_creative",
            "videoUri": MP4_URI,
            "resolution": "4k",
            "creativity": 0,
            "sharpen": 100,
            "smartGrain": 40,
            "flavor": "vivid",
            "fpsBoost": True,
        },
    ),
    ("runway", "enhance_frame_rate"): example(
        "video_upscale", {"model": "enhance_frame_rate", "videoUri": VID, "targetFramerate": "59_94"}
    ),
    ("runway", "mirelo_sfx_2_0"): example(
        "video_to_audio",
        {
            "model": "mirelo_sfx_2_0",
            "videoUri": MP4_URI,
            "duration": 4.5,
            "promptText": "footsteps on gravel",
            "negativePrompt": "music",
            "seed": 9,
            "format": "flac",
            "numVariants": 2,
            "preserveSpeech": True,
        },
    ),
}
TEXT_TO_VIDEO = {
    ("runway", "gen4.5"): example("text_to_video", GEN45_T2V),
    ("runway", "veo3.1"): example("text_to_video", VEO_T2V | {"model": "veo3.1"}),
    ("runway", "veo3.1_fast"): example("text_to_video", VEO_T2V | {"model": "veo3.1_fast"}),
}
# Every case by (provider, endpoint, model); each simulator takes exactly its provider's.
CASES = {(p, case[0], m): case for (p, m), case in [*VALID.items(), *TEXT_TO_VIDEO.items()]}
CASES |= {(f"simulator{'-runway' if p == 'runway' else ''}", e, m): c for (p, e, m), c in list(CASES.items())}


def test_every_model_of_every_provider_has_an_example() -> None:
    served = {(p.name, m.endpoint, m.name) for p in PROVIDERS.values() for m in p.models}
    assert served == set(CASES)


@pytest.mark.parametrize(
    ("provider_name", "endpoint", "model"), sorted(CASES), ids=[":".join(k) for k in sorted(CASES)]
)
def test_example_request_validates_and_round_trips(provider_name: str, endpoint: str, model: str) -> None:
    endpoint, body, wire = CASES[(provider_name, endpoint, model)]
    request = parse_request(endpoint, body, provider=PROVIDERS[provider_name])
    assert request.to_wire() == wire
    # The wire JSON is itself valid input: parsing it again gives the same body.
    assert parse_request(endpoint, json.loads(json.dumps(wire)), provider=PROVIDERS[provider_name]).to_wire() == wire


def test_string_prompt_image_is_the_first_frame() -> None:
    wire = parse_request("image_to_video", i2v(promptImage=IMG), provider=OPENAI_HK).to_wire()
    assert wire["promptImage"] == [{"uri": IMG, "position": "first"}]


def test_unset_fields_are_not_sent() -> None:
    wire = parse_request(
        "image_to_video", {"model": "gen4_turbo", "promptImage": IMG, "ratio": "1280:720"}, provider=OPENAI_HK
    ).to_wire()
    assert wire == {"model": "gen4_turbo", "promptImage": [{"uri": IMG, "position": "first"}], "ratio": "1280:720"}


# --- each broken rule: its own message, naming the field ----------------------------------------------------------


def test_ratio_of_another_model() -> None:
    issue = only_issue("image_to_video", i2v(ratio="1280:768"))
    assert issue.field == "Ratio" and issue.path == ("ratio",)
    assert str(issue.message).startswith("Ratio 1280:768 is not available for gen4_turbo. Choose one of 1280:720, ")
    assert "1584:672" in str(issue.message)


def test_ratio_required_for_gen4_turbo() -> None:
    body = i2v()
    del body["ratio"]
    issue = only_issue("image_to_video", body)
    assert issue.field == "Ratio" and "required" in str(issue.message)


def test_last_frame_on_gen4_turbo() -> None:
    body = i2v(promptImage=[{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}])
    issue = only_issue("image_to_video", body)
    assert issue.field == "Last frame"
    assert str(issue.message) == "Last frame is supported by gen3a_turbo only."
    assert issue.path == ("promptImage", 1, "position")


def test_last_frame_on_runway_names_the_models_that_take_one() -> None:
    body = i2v(promptImage=[{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "last"}])
    issue = only_issue("image_to_video", body, RUNWAY)
    assert (
        issue.field == "Last frame" and str(issue.message) == "Last frame is supported by veo3.1 and veo3.1_fast only."
    )


def test_missing_or_duplicate_first_frame() -> None:
    issue = only_issue(
        "image_to_video",
        i2v(promptImage=[{"uri": IMG2, "position": "last"}])
        | {"model": "gen3a_turbo", "ratio": "1280:768", "promptText": "x"},
    )
    assert issue.field == "First frame" and "required" in str(issue.message)
    found = issues(
        "image_to_video", i2v(promptImage=[{"uri": IMG, "position": "first"}, {"uri": IMG2, "position": "first"}])
    )
    assert [i.field for i in found] == ["Frames"]
    assert "once" in str(found[0].message)


def test_duration_7_is_refused_by_the_proxy_but_fine_upstream() -> None:
    issue = only_issue("image_to_video", i2v(duration=7))
    assert issue.field == "Duration"
    assert "Duration 7 s is not available for gen4_turbo on openai-hk" in str(issue.message)
    assert "5, 10" in str(issue.message)
    assert parse_request("image_to_video", i2v(duration=7), provider=RUNWAY).to_wire()["duration"] == 7
    assert only_issue("image_to_video", i2v(duration=11), RUNWAY).field == "Duration"
    assert only_issue("image_to_video", i2v(duration=1), RUNWAY).field == "Duration"


@pytest.mark.parametrize("seed", [-1, 4294967296])
def test_seed_out_of_range(seed: int) -> None:
    issue = only_issue("image_to_video", i2v(seed=seed))
    assert issue.field == "Seed"
    assert f"Seed {seed} is out of range" in str(issue.message)
    assert "0 to 4294967295" in str(issue.message)


@pytest.mark.parametrize("seed", [0, 4294967295])
def test_seed_bounds_accepted(seed: int) -> None:
    assert parse_request("image_to_video", i2v(seed=seed), provider=OPENAI_HK).to_wire()["seed"] == seed


def test_prompt_length_counts_utf16_units() -> None:
    emoji = "\U0001f30a"  # two UTF-16 code units
    ok = emoji * 500  # 1000 units, 500 characters
    assert parse_request("image_to_video", i2v(promptText=ok), provider=OPENAI_HK).to_wire()["promptText"] == ok
    issue = only_issue("image_to_video", i2v(promptText=ok + "a"))  # 1001 units, only 501 characters
    assert issue.field == "Prompt"
    assert "1001" in str(issue.message) and "1000" in str(issue.message)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("image_to_video", {"model": "gen3a_turbo", "promptImage": IMG, "ratio": "1280:768", "duration": 10}),
        ("video_to_video", {"model": "gen4_aleph", "videoUri": VID, "ratio": "1280:720"}),
    ],
    ids=["gen3a_turbo", "gen4_aleph"],
)
def test_prompt_required(endpoint: str, body: dict[str, Any]) -> None:
    issue = only_issue(endpoint, body)
    assert issue.field == "Prompt" and issue.path == ("promptText",)
    assert f"Prompt is required for {body['model']}" in str(issue.message)
    assert only_issue(endpoint, body | {"promptText": ""}).message == issue.message


def test_prompt_optional_for_gen4_turbo() -> None:
    assert "promptText" not in parse_request("image_to_video", i2v(), provider=OPENAI_HK).to_wire()


@pytest.mark.parametrize("model_body", [i2v(), v2v()], ids=["optional", "required"])
def test_whitespace_only_prompt(model_body: dict[str, Any]) -> None:
    issue = only_issue(
        "video_to_video" if "videoUri" in model_body else "image_to_video", model_body | {"promptText": " \n\t "}
    )
    assert issue.field == "Prompt" and "only spaces" in str(issue.message)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_characters_in_prompt(char: str) -> None:
    issue = only_issue("image_to_video", i2v(promptText=f"a wave{char}crashing"))
    assert issue.field == "Prompt" and "control character" in str(issue.message)
    assert f"U+{ord(char):04X}" in str(issue.message)


def test_newlines_and_tabs_are_fine_in_a_prompt() -> None:
    assert parse_request("image_to_video", i2v(promptText="line one\n\tline two"), provider=OPENAI_HK)


@pytest.mark.parametrize("intensity", [0, 6])
def test_expression_intensity_out_of_range(intensity: int) -> None:
    issue = only_issue("character_performance", act(expressionIntensity=intensity))
    assert issue.field == "Expression intensity"
    assert f"Expression intensity {intensity} is out of range. Choose 1 to 5." == str(issue.message)


def test_two_references_on_aleph() -> None:
    refs = [{"type": "image", "uri": IMG}, {"type": "image", "uri": IMG2}]
    issue = only_issue("video_to_video", v2v(references=refs))
    assert issue.field == "Reference image"
    assert "at most 1" in str(issue.message) and "2 were given" in str(issue.message)


@pytest.mark.parametrize("field_name", ["watermark", "notify_hook"])
def test_proxy_only_fields_refused_on_runway(field_name: str) -> None:
    value: Any = False if field_name == "watermark" else "https://hooks.example.com/x"
    issue = only_issue("image_to_video", i2v(**{field_name: value}), RUNWAY)
    assert issue.path == (field_name,)
    assert "only available on openai-hk" in str(issue.message) and "Runway" in str(issue.message)


def test_notify_hook_must_be_https() -> None:
    issue = only_issue("image_to_video", i2v(notify_hook="http://hooks.example.com/x"))
    assert issue.field == "Notify hook" and "https://" in str(issue.message)


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://cdn.example.com/a.png", "https://"),
        ("file:///etc/passwd", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://93.184.216.34/a.png", "not an IP address"),
        ("https://[::1]/a.png", "not an IP address"),
        ("https://localhost/a.png", "not a public domain name"),
        ("https://cdn.example.com/" + "a" * (3000 - 24), "3000 characters"),
        ("https://cdn.example.com/a b.png", "spaces"),
    ],
    ids=["http", "file", "javascript", "ipv4", "ipv6", "localhost", "3000-chars", "space"],
)
def test_bad_image_urls(uri: str, words: str) -> None:
    issue = only_issue("image_to_video", i2v(promptImage=uri))
    assert issue.field == "First frame"
    assert issue.path == ("promptImage", 0, "uri")
    assert str(issue.message).startswith("First frame: ")
    assert words in str(issue.message)


def test_url_at_the_length_limit_is_accepted() -> None:
    uri = "https://cdn.example.com/" + "a" * (2048 - len("https://cdn.example.com/"))
    assert len(uri) == 2048
    assert parse_request("image_to_video", i2v(promptImage=uri), provider=OPENAI_HK)


def test_text_data_uri_given_as_an_image() -> None:
    issue = only_issue("image_to_video", i2v(promptImage="data:text/plain;base64,aGVsbG8="))
    assert issue.field == "First frame"
    assert "text/plain" in str(issue.message) and "image" in str(issue.message)


def test_image_data_uri_given_as_a_video() -> None:
    issue = only_issue("video_to_video", v2v(videoUri=PNG_URI))
    assert issue.field == "Input video" and issue.path == ("videoUri",)
    assert "image/png" in str(issue.message) and "video is expected" in str(issue.message)


def test_image_data_uri_over_5_mib() -> None:
    prefix = "data:image/png;base64,"
    payload_len = 5 * 1024 * 1024 - len(prefix) + 4  # the whole string is 4 characters over the limit
    big = prefix + "A" * payload_len
    assert len(big) > 5 * 1024 * 1024
    issue = only_issue("image_to_video", i2v(promptImage=big))
    assert issue.field == "First frame" and "5 MiB" in str(issue.message)
    at_limit = prefix + "A" * ((5 * 1024 * 1024 - len(prefix)) // 4 * 4)  # valid base64, just under the limit
    assert 5 * 1024 * 1024 - 4 < len(at_limit) <= 5 * 1024 * 1024
    assert parse_request("image_to_video", i2v(promptImage=at_limit), provider=OPENAI_HK)


def test_invalid_base64_data_uri() -> None:
    issue = only_issue("image_to_video", i2v(promptImage="data:image/png;base64,not*base64"))
    assert issue.field == "First frame" and "base64" in str(issue.message)


def test_unknown_model() -> None:
    issue = only_issue("image_to_video", i2v(model="gen9_ultra"))
    assert issue.field == "Model" and issue.path == ("model",)
    assert (
        "gen9_ultra" in str(issue.message)
        and "gen4_turbo" in str(issue.message)
        and "gen3a_turbo" in str(issue.message)
    )


def test_model_of_another_endpoint() -> None:
    issue = only_issue("image_to_video", i2v(model="gen4_aleph"))
    assert issue.field == "Model" and "gen4_aleph is not available for Image to Video" in str(issue.message)


def test_endpoint_a_provider_does_not_offer() -> None:
    issue = only_issue("text_to_video", {"model": "gen4.5", "promptText": "x", "ratio": "1280:720"}, OPENAI_HK)
    assert issue.field == "Model" and "openai-hk does not offer Text to Video" in str(issue.message)


@pytest.mark.parametrize(
    ("body", "field_label", "words"),
    [
        (i2v(duration="x"), "Duration", "whole number"),
        (i2v(seed="abc"), "Seed", "whole number"),
        (i2v(watermark="maybe"), "Watermark", "true or false"),
        (i2v(ratio=16), "Ratio", "Ratio"),
        (i2v(surprise=1), "surprise", "not a field"),
    ],
    ids=["duration-x", "seed-text", "watermark-text", "ratio-number", "extra-field"],
)
def test_wrong_types_name_the_field(body: dict[str, Any], field_label: str, words: str) -> None:
    issue = only_issue("image_to_video", body)
    assert issue.field == field_label
    assert words in str(issue.message)


def test_missing_required_shape() -> None:
    issue = only_issue("image_to_video", {"model": "gen4_turbo", "ratio": "1280:720"})
    assert issue.field == "Frames" and "required" in str(issue.message)
    issue = only_issue("character_performance", {"model": "act_two", "character": {"type": "image", "uri": IMG}})
    assert issue.field == "Reference performance video" and "required" in str(issue.message)


def test_body_must_be_an_object_and_endpoint_known() -> None:
    assert only_issue("image_to_video", ["gen4_turbo"]).field == "Request"
    assert only_issue("image_to_audio", i2v()).field == "Endpoint"


def test_character_type_must_be_image_or_video() -> None:
    issue = only_issue("character_performance", act(character={"type": "audio", "uri": IMG}))
    assert issue.field == "Character" and "'image'" in str(issue.message) and "'video'" in str(issue.message)
    issue = only_issue("character_performance", act(reference={"type": "image", "uri": IMG}))
    assert issue.field == "Reference performance video" and "must be a video" in str(issue.message)


def test_public_figure_threshold_choices() -> None:
    issue = only_issue("image_to_video", i2v(contentModeration={"publicFigureThreshold": "high"}))
    assert issue.field == "Public figure threshold" and "'auto'" in str(issue.message)


def test_every_problem_is_reported_at_once() -> None:
    found = issues("image_to_video", i2v(ratio="1280:768", duration=7, seed=-1, promptText="\x00"))
    assert sorted(i.field for i in found) == ["Duration", "Prompt", "Ratio", "Seed"]
    # Each rule has its own message: none repeats another.
    assert len({str(i.message) for i in found}) == 4


# --- the proxy's documented examples as contract fixtures -----------------------------------------------------------


def load(name: str) -> dict[str, Any]:
    return json.loads((API_FIXTURES / name).read_text())


@pytest.mark.parametrize("provider_name", ["openai-hk", "simulator"])
def test_proxy_image_example_refused_for_its_last_frame(provider_name: str) -> None:
    found = issues("image_to_video", load("proxy_image_to_video_request.json"), PROVIDERS[provider_name])
    assert [(i.field, str(i.message)) for i in found] == [
        ("Last frame", "Last frame is supported by gen3a_turbo only.")
    ]


def test_proxy_image_example_2_refused_for_last_frame_and_ratio() -> None:
    found = issues("image_to_video", load("proxy_image_to_video_request_2.json"))
    by_field = {i.field: str(i.message) for i in found}
    assert set(by_field) == {"Last frame", "Ratio"}
    assert by_field["Last frame"] == "Last frame is supported by gen3a_turbo only."
    assert by_field["Ratio"].startswith("Ratio 1280:768 is not available for gen4_turbo. Choose one of 1280:720, ")


def test_proxy_image_example_is_valid_once_fixed() -> None:
    body = load("proxy_image_to_video_request.json")
    body["promptImage"] = body["promptImage"][:1]
    wire = parse_request("image_to_video", body, provider=OPENAI_HK).to_wire()
    assert wire == body


def test_proxy_video_to_video_example_refused_for_http_placeholders() -> None:
    found = issues("video_to_video", load("proxy_video_to_video_request.json"))
    assert {(i.field, i.path) for i in found} == {
        ("Input video", ("videoUri",)),
        ("Reference image", ("references", 0, "uri")),
    }
    assert all("https://" in str(i.message) for i in found)


def test_proxy_character_performance_example_refused_for_http_placeholders() -> None:
    found = issues("character_performance", load("proxy_character_performance_request.json"))
    assert {(i.field, i.path) for i in found} == {
        ("Character", ("character", "uri")),
        ("Reference performance video", ("reference", "uri")),
    }
    assert all(str(i.message).startswith(f"{i.field}: ") and "https://" in str(i.message) for i in found)


def test_proxy_video_examples_valid_with_https_links() -> None:
    body = load("proxy_video_to_video_request.json")
    body["videoUri"], body["references"][0]["uri"] = VID, IMG
    assert parse_request("video_to_video", body, provider=SIMULATOR).to_wire() == body
    body = load("proxy_character_performance_request.json")
    body["character"]["uri"], body["reference"]["uri"] = VID, VID
    assert parse_request("character_performance", body, provider=SIMULATOR).to_wire() == body
