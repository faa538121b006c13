"""The capability table: invariants every reader (forms, validation, simulator, cost) relies on.

Facts are checked against ``tests/fixtures/api/runway-api.md`` (the API as it really behaves), not against the
table itself, so a wrong table fails here even though the client and the simulator would agree with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studio.capabilities import (
    ENDPOINTS,
    OPENAI_HK,
    PROVIDERS,
    RUNWAY,
    SIMULATOR,
    ModelSpec,
    provider,
    ratio_size,
)

STUDIO = Path(__file__).resolve().parents[1] / "studio"

ALL_MODELS = [(p.name, m) for p in PROVIDERS.values() for m in p.models]
IDS = [f"{p}:{m.endpoint}:{m.name}" for p, m in ALL_MODELS]


@pytest.mark.parametrize(("provider_name", "spec"), ALL_MODELS, ids=IDS)
def test_every_model_serves_a_known_endpoint(provider_name: str, spec: ModelSpec) -> None:
    assert spec.endpoint in ENDPOINTS


@pytest.mark.parametrize(("provider_name", "spec"), ALL_MODELS, ids=IDS)
def test_defaults_are_among_the_choices(provider_name: str, spec: ModelSpec) -> None:
    assert spec.default_ratio in spec.ratios or (spec.ratios == () and spec.default_ratio is None)
    if spec.durations is None:
        assert spec.default_duration is None
        assert spec.endpoint not in ("image_to_video", "text_to_video")  # these always have a duration field
    else:
        assert spec.default_duration in spec.durations


@pytest.mark.parametrize(("provider_name", "spec"), ALL_MODELS, ids=IDS)
def test_ratios_name_even_pixel_sizes(provider_name: str, spec: ModelSpec) -> None:
    # H.264 with yuv420p needs even sides; the simulator renders exactly this size.
    assert len(set(spec.ratios)) == len(spec.ratios)
    for ratio in spec.ratios:
        assert re.fullmatch(r"\d+:\d+", ratio)
        width, height = ratio_size(ratio)
        assert width > 0 and height > 0
        assert width % 2 == 0 and height % 2 == 0, ratio


@pytest.mark.parametrize("provider_name", list(PROVIDERS))
def test_gen4_turbo_takes_first_frame_only_and_no_gen3a_ratio(provider_name: str) -> None:
    # runway-api.md, image_to_video: "The proxy's own examples send gen4_turbo with a `last` frame and with ratio
    # 1280:768: both are rejected upstream. Validate per model; never send them."
    spec = PROVIDERS[provider_name].model("gen4_turbo", "image_to_video")
    assert spec is not None
    assert "last" not in spec.positions
    assert not spec.supports_last_frame
    assert spec.positions == ("first",)
    assert "1280:768" not in spec.ratios
    assert set(spec.ratios) == {"1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"}


def test_gen3a_turbo_takes_both_frames_and_its_own_ratios() -> None:
    spec = OPENAI_HK.model("gen3a_turbo", "image_to_video")
    assert spec is not None
    assert set(spec.positions) == {"first", "last"}
    assert set(spec.ratios) == {"1280:768", "768:1280"}
    assert spec.prompt_required
    assert spec.default_duration == 10  # runway-api.md: "5, 10 (default 10)"


def test_durations_per_provider() -> None:
    # runway-api.md: gen4_turbo "proxy: 5, 10 · official: any integer 2–10".
    hk = OPENAI_HK.model("gen4_turbo", "image_to_video")
    official = RUNWAY.model("gen4_turbo", "image_to_video")
    assert hk is not None and official is not None
    assert hk.durations == (5, 10)
    assert official.durations == tuple(range(2, 11))
    assert 7 in official.durations and 7 not in hk.durations


def test_provider_only_fields_are_on_openai_hk_only() -> None:
    for prov in PROVIDERS.values():
        for spec in prov.models:
            extras = set(spec.options) & {"watermark", "notify_hook"}
            if prov.name in ("openai-hk", "simulator") and spec.endpoint == "image_to_video":
                assert extras == {"watermark", "notify_hook"}, (prov.name, spec.name)
            else:
                assert extras.isdisjoint({"watermark", "notify_hook"}), (prov.name, spec.name)


def test_simulator_serves_exactly_openai_hks_models() -> None:
    assert SIMULATOR.models == OPENAI_HK.models
    assert SIMULATOR.limits == OPENAI_HK.limits


def test_official_api_no_longer_serves_removed_models() -> None:
    # runway_models.json: gen3a_turbo and gen4_aleph are "removed_upstream".
    assert not {"gen3a_turbo", "gen4_aleph"} & RUNWAY.model_names
    assert [m.name for m in RUNWAY.models_for("video_to_video")] == ["aleph2"]


@pytest.mark.parametrize(
    ("model", "credits"), [("gen4_turbo", 5), ("gen3a_turbo", 5), ("gen4_aleph", 15), ("act_two", 5)]
)
def test_credits_per_second_match_the_reference(model: str, credits: int) -> None:
    # runway-api.md: gen4_turbo 5, gen3a_turbo 5, gen4_aleph 15, act_two 5 credits per second.
    for prov in PROVIDERS.values():
        for spec in (m for m in prov.models if m.name == model):
            assert spec.credits_per_second == credits, prov.name


def test_input_limits_match_the_reference() -> None:
    limits = OPENAI_HK.limits
    assert limits.image_data_uri_bytes == 5 * 1024 * 1024
    assert limits.video_data_uri_bytes == 16 * 1024 * 1024
    assert limits.url_max_chars == 2048
    assert limits.prompt_max_utf16 == 1000
    assert (limits.seed_min, limits.seed_max) == (0, 2**32 - 1)


def test_aleph_and_act_two_rules() -> None:
    aleph = OPENAI_HK.model("gen4_aleph", "video_to_video")
    act_two = OPENAI_HK.model("act_two", "character_performance")
    assert aleph is not None and act_two is not None
    assert aleph.max_references == 1 and aleph.prompt_required
    assert {"848:480", "640:480"} <= set(aleph.ratios)
    assert aleph.video_inputs["videoUri"].use_first_seconds == 5.0
    assert act_two.expression_intensity == (1, 5, 3)
    rule = act_two.video_inputs["reference"]
    assert (rule.min_seconds, rule.max_seconds) == (3.0, 30.0)
    assert act_two.durations is None  # "No duration field"


def test_provider_lookup_names_the_choices() -> None:
    assert provider("runway") is RUNWAY
    with pytest.raises(KeyError, match="openai-hk"):
        provider("nope")


def test_simulator_polls_faster_than_real_providers() -> None:
    assert OPENAI_HK.poll_interval_s == 5.0  # runway-api.md: "Updates come no more often than every 5 s"
    assert RUNWAY.poll_interval_s == 5.0
    assert 0 < SIMULATOR.poll_interval_s < OPENAI_HK.poll_interval_s


@pytest.mark.parametrize("literal", ["1280:768", "4294967295", "4_294_967_295", "5242880", "16777216"])
def test_no_other_module_hard_codes_the_table(literal: str) -> None:
    offenders = []
    for path in STUDIO.rglob("*"):
        if not path.is_file() or path.name == "capabilities.py" or "__pycache__" in path.parts:
            continue
        if path.suffix not in (".py", ".md", ".txt", ".toml", ".json", ".js", ".css", ".html"):
            continue
        if literal in path.read_text(encoding="utf-8", errors="replace"):
            offenders.append(str(path.relative_to(STUDIO)))
    assert offenders == [], f"{literal} is hard-coded in {offenders}; read it from studio.capabilities"
