"""THE capability table: providers, endpoints, models, their rules, input limits and prices.

Data only. Every other module reads limits from here: the form controls, request validation, image and
video preparation, the cost estimate, the simulator's rejections and the README's model table. Nothing else
hard-codes a ratio, a duration, a size limit or a price.

Sources: ``../shared/reference/runway-api.md`` and ``runway_models.json`` (the API as it really behaves).
Where the openai-hk proxy's docs contradict upstream, the table follows upstream and says so in a comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Endpoint = Literal["image_to_video", "video_to_video", "character_performance"]
ProviderName = Literal["simulator", "openai-hk", "runway"]

ENDPOINTS: tuple[Endpoint, ...] = ("image_to_video", "video_to_video", "character_performance")

MIB = 1024 * 1024

USD_PER_CREDIT = 0.01
API_VERSION = "2024-11-06"

GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
# gen4_aleph accepts two more ratios; upstream now ignores ratio and follows the input video, but a valid one
# must still be sent (runway-api.md, video_to_video).
ALEPH_RATIOS = GEN4_RATIOS + ("848:480", "640:480")
GEN3A_RATIOS = ("1280:768", "768:1280")
PUBLIC_FIGURE_THRESHOLDS = ("auto", "low")


@dataclass(frozen=True)
class InputLimits:
    """Limits on what may be sent, shared by every model (runway-api.md, "Common input rules")."""

    image_data_uri_bytes: int = 5 * MIB  # the whole encoded data URI string
    video_data_uri_bytes: int = 16 * MIB
    image_url_fetch_bytes: int = 16_000_000  # what the provider will fetch from a URL
    video_url_fetch_bytes: int = 32_000_000
    url_max_chars: int = 2048
    image_max_side_px: int = 7999
    image_min_aspect: float = 0.5  # width / height
    image_max_aspect: float = 2.0
    image_formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP")  # Pillow format names; no GIF, no SVG
    prompt_max_utf16: int = 1000
    seed_min: int = 0
    seed_max: int = 4_294_967_295


@dataclass(frozen=True)
class VideoInputRule:
    """How one video input is used: the part that counts and the lengths allowed."""

    use_first_seconds: float | None = None  # only this much of the input is used (aleph: 5 s)
    min_seconds: float | None = None
    max_seconds: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One model as served by one provider."""

    name: str
    endpoint: Endpoint
    label: str
    ratios: tuple[str, ...]
    default_ratio: str
    credits_per_second: int
    prompt_required: bool = False
    ratio_required: bool = False  # the API refuses a body without one (we always send one anyway)
    durations: tuple[int, ...] | None = None  # None: the endpoint has no duration field
    default_duration: int | None = None
    positions: tuple[str, ...] = ()  # image_to_video frame positions ("first", "last")
    max_references: int = 0  # video_to_video reference images
    # Optional body fields this model takes (wire names) beyond its endpoint's own: a request that sets one the
    # model does not take is refused, and the page shows the control only for models that take it.
    options: tuple[str, ...] = ()
    video_inputs: Mapping[str, VideoInputRule] = field(default_factory=dict)
    character_types: tuple[str, ...] = ()  # character_performance: "image", "video"
    expression_intensity: tuple[int, int, int] | None = None  # (min, max, default)
    note: str = ""

    @property
    def supports_last_frame(self) -> bool:
        return "last" in self.positions


@dataclass(frozen=True)
class ProviderSpec:
    """A place that serves the API: its base URL, how often to poll it, and the models it serves."""

    name: ProviderName
    label: str
    base_url: str  # empty for the simulator: the studio serves it itself
    poll_interval_s: float
    models: Mapping[str, ModelSpec]
    limits: InputLimits = InputLimits()
    note: str = ""
    simulated: bool = False  # the built-in simulator: free, takes any key, says so on the page

    def models_for(self, endpoint: Endpoint) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models.values() if m.endpoint == endpoint)

    def model(self, name: str) -> ModelSpec | None:
        return self.models.get(name)


def _freeze(*models: ModelSpec) -> Mapping[str, ModelSpec]:
    return MappingProxyType({m.name: m for m in models})


_ALEPH_VIDEO = MappingProxyType({"videoUri": VideoInputRule(use_first_seconds=5.0)})
_ACT_TWO_VIDEO = MappingProxyType(
    {"reference": VideoInputRule(min_seconds=3.0, max_seconds=30.0), "character": VideoInputRule(max_seconds=30.0)}
)

# --- openai-hk, the proxy our users buy keys from -------------------------------------------------------------
# The proxy's docs send gen4_turbo with a `last` frame and with ratio 1280:768. Both are rejected upstream
# (runway-api.md, "image_to_video": "Validate per model; never send them"), so gen4_turbo here takes the first
# frame only and the six gen4 ratios. The proxy documents durations 5 and 10 only and bills 5 s tiers.
_HK_GEN4_TURBO = ModelSpec(
    name="gen4_turbo",
    endpoint="image_to_video",
    label="Gen-4 Turbo",
    ratios=GEN4_RATIOS,
    default_ratio="1280:720",
    durations=(5, 10),
    default_duration=5,
    positions=("first",),
    ratio_required=True,
    credits_per_second=5,
    options=("watermark", "notify_hook", "contentModeration"),
)
_HK_GEN3A_TURBO = ModelSpec(
    name="gen3a_turbo",
    endpoint="image_to_video",
    label="Gen-3 Alpha Turbo",
    ratios=GEN3A_RATIOS,
    default_ratio="1280:768",
    durations=(5, 10),
    default_duration=10,
    positions=("first", "last"),
    prompt_required=True,
    credits_per_second=5,
    options=("watermark", "notify_hook", "contentModeration"),
    note="Retired upstream on 2026-07-30; still listed by the proxy.",
)
_HK_GEN4_ALEPH = ModelSpec(
    name="gen4_aleph",
    endpoint="video_to_video",
    label="Gen-4 Aleph",
    ratios=ALEPH_RATIOS,
    default_ratio="1280:720",
    prompt_required=True,
    max_references=1,
    credits_per_second=15,
    video_inputs=_ALEPH_VIDEO,
    options=("contentModeration",),
    note="Removed from the official API on 2026-06-10; still listed by the proxy.",
)
_ACT_TWO = ModelSpec(
    name="act_two",
    endpoint="character_performance",
    label="Act-Two",
    ratios=GEN4_RATIOS,
    default_ratio="1280:720",
    credits_per_second=5,
    video_inputs=_ACT_TWO_VIDEO,
    character_types=("image", "video"),
    expression_intensity=(1, 5, 3),
    options=("contentModeration",),
)

OPENAI_HK = ProviderSpec(
    name="openai-hk",
    label="openai-hk",
    base_url="https://api.openai-hk.com/runwayml",
    poll_interval_s=5.0,
    models=_freeze(_HK_GEN4_TURBO, _HK_GEN3A_TURBO, _HK_GEN4_ALEPH, _ACT_TWO),
    note="Bills 5 s and 10 s tiers (10 s costs twice 5 s).",
)

# --- Runway's official API ---------------------------------------------------------------------------------
# gen4_turbo takes any whole duration from 2 to 10 s upstream. gen3a_turbo and gen4_aleph were removed from the
# official API on 2026-06-10 (runway_models.json, status "removed_upstream"), so this provider does not serve
# them and the Video to Video tab says so.
RUNWAY = ProviderSpec(
    name="runway",
    label="Runway",
    base_url="https://api.dev.runwayml.com",
    poll_interval_s=5.0,
    models=_freeze(
        ModelSpec(
            name="gen4_turbo",
            endpoint="image_to_video",
            label="Gen-4 Turbo",
            ratios=GEN4_RATIOS,
            default_ratio="1280:720",
            durations=tuple(range(2, 11)),
            default_duration=5,
            positions=("first",),
            ratio_required=True,
            credits_per_second=5,
            options=("contentModeration",),
        ),
        _ACT_TWO,
    ),
)

# --- the built-in simulator: serves the openai-hk table, polled faster so demos feel alive -------------------
SIMULATOR = ProviderSpec(
    name="simulator",
    label="Simulator",
    base_url="",
    poll_interval_s=0.5,
    models=OPENAI_HK.models,
    simulated=True,
    note="Runs inside the studio; clips are simulated placeholders and cost nothing.",
)

PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType({p.name: p for p in (SIMULATOR, OPENAI_HK, RUNWAY)})

# Path prefix the client puts before /v1/... for each provider. The proxy serves the API under /runwayml,
# already part of its base URL; the simulator serves both /v1 and /runwayml/v1.
API_PREFIX = "/v1"


# Every optional body field some model takes: a request that sets one is checked against its model's ``options``.
OPTIONS: frozenset[str] = frozenset(o for p in PROVIDERS.values() for m in p.models.values() for o in m.options)


def provider(name: str) -> ProviderSpec:
    """The provider called ``name``; raises KeyError naming the choices."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(f"Unknown provider {name!r}. Choose one of {', '.join(PROVIDERS)}.") from None


def ratio_size(ratio: str) -> tuple[int, int]:
    """The output size in pixels that a ratio names: "1280:720" is 1280x720."""
    width, height = ratio.split(":")
    return int(width), int(height)
