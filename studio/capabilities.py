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
from fractions import Fraction
from types import MappingProxyType
from typing import Literal, get_args

Endpoint = Literal[
    "image_to_video", "text_to_video", "video_to_video", "character_performance", "video_upscale", "video_to_audio"
]
ProviderName = Literal["simulator", "simulator-runway", "openai-hk", "runway"]

ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)
# The finishing passes: each takes a clip the studio made (or any video) and returns it improved, as a new generation
# whose parent is that clip. The Finish tab lists these endpoints' models as its passes.
FINISHING: tuple[Endpoint, ...] = ("video_upscale", "video_to_audio")

MIB = 1024 * 1024

USD_PER_CREDIT = 0.01
API_VERSION = "2024-11-06"

GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
# gen4_aleph accepts two more ratios; upstream now ignores ratio and follows the input video, but a valid one
# must still be sent (runway-api.md, video_to_video).
ALEPH_RATIOS = GEN4_RATIOS + ("848:480", "640:480")
GEN3A_RATIOS = ("1280:768", "768:1280")
VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
PUBLIC_FIGURE_THRESHOLDS = ("auto", "low")
# aleph2's targetAspectRatio: the input is letterboxed to it, then the bars are outpainted.
OUTPAINT_ASPECTS = ("16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "21:9")


@dataclass(frozen=True)
class InputLimits:
    """Limits on what may be sent (runway-api.md, "Common input rules" and "The official API as of late 2026")."""

    image_data_uri_bytes: int = 5 * MIB  # the whole encoded data URI string
    video_data_uri_bytes: int = 16 * MIB
    image_url_fetch_bytes: int = 16_000_000  # what the provider will fetch from a URL
    video_url_fetch_bytes: int = 32_000_000
    url_max_chars: int = 2048
    image_max_side_px: int = 7999
    image_min_aspect: float = 0.5  # width / height
    image_max_aspect: float = 2.0
    image_formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP")  # Pillow format names; no GIF, no SVG
    prompt_max_utf16: int = 1000  # promptText and negativePrompt alike
    seed_min: int = 0
    seed_max: int = 4_294_967_295
    # Ephemeral uploads (POST /v1/uploads): an input too big for a data URI is uploaded and sent as runway://.
    # 0 = the provider has no uploads.
    upload_min_bytes: int = 0
    upload_max_bytes: int = 0

    @property
    def uploads(self) -> bool:
        return self.upload_max_bytes > 0


@dataclass(frozen=True)
class VideoInputRule:
    """How one video input is used: the part that counts, the lengths allowed and the fastest frame rate."""

    use_first_seconds: float | None = None  # only this much of the input is used (gen4_aleph: 5 s)
    min_seconds: float | None = None
    max_seconds: float | None = None
    max_fps: float | None = None  # a faster input is converted to this rate (aleph2: 30)


@dataclass(frozen=True)
class OptionRule:
    """What one optional body field of a model takes: one of ``choices``, or a whole number within ``bounds``; its
    ``default`` is what the API assumes when it is left out (the page shows it); ``required``: it must be sent."""

    choices: tuple[str, ...] = ()
    bounds: tuple[int, int] | None = None
    default: str | int | bool | None = None
    required: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One model as served by one provider on one endpoint."""

    name: str
    endpoint: Endpoint
    label: str
    ratios: tuple[str, ...]  # () : the model takes no ratio (aleph2 keeps the input's resolution)
    default_ratio: str | None
    credits_per_second: int
    prompt_required: bool = False
    ratio_required: bool = False  # the API refuses a body without one (we always send one anyway)
    durations: tuple[int, ...] | None = None  # None: the endpoint has no duration field
    default_duration: int | None = None
    duration_required: bool = False
    positions: tuple[str, ...] = ()  # image_to_video frame positions ("first", "last"); a last needs a first
    max_references: int = 0  # video_to_video reference images (gen4_aleph)
    # Optional body fields this model takes (wire names) beyond its endpoint's own: a request that sets one the
    # model does not take is refused, and the page shows the control only for models that take it.
    options: tuple[str, ...] = ()
    video_inputs: Mapping[str, VideoInputRule] = field(default_factory=dict)
    character_types: tuple[str, ...] = ()  # character_performance: "image", "video"
    expression_intensity: tuple[int, int, int] | None = None  # (min, max, default)
    max_keyframes: int = 0  # aleph2: timed guidance images
    outpaint_aspects: tuple[str, ...] = ()  # aleph2: targetAspectRatio choices
    audio_credits_per_second: int | None = None  # the price when the model makes sound (Veo: audio on)
    minimum_credits: int = 0  # a task never costs less (aleph2)
    # What each of ``options`` takes (its choices or bounds, default, whether it must be sent), by wire name.
    option_rules: Mapping[str, OptionRule] = field(default_factory=dict)
    # Priced per frame of output instead of per second: credits per output frame, by the ``resolution`` asked for.
    credits_per_frame: Mapping[str, float] = field(default_factory=dict)
    seed: bool = True  # the model takes a seed (the finishing passes that do not are sent none)
    price_is_estimate: bool = False  # the price comes from third-party pages only: the page says so
    price_is_guess: bool = False  # no price is published at all: ours is a guess (also shown as an estimate)
    legacy: bool = False  # gone from the official API; still served by the proxy
    note: str = ""

    @property
    def supports_last_frame(self) -> bool:
        return "last" in self.positions

    @property
    def output_follows_input(self) -> bool:
        """The output lasts as long as an input video (no duration field)."""
        return self.durations is None


@dataclass(frozen=True)
class ProviderSpec:
    """A place that serves the API: its base URL, how often to poll it, and the models it serves."""

    name: ProviderName
    label: str
    base_url: str  # empty for the simulator: the studio serves it itself
    poll_interval_s: float
    models: tuple[ModelSpec, ...]
    limits: InputLimits = InputLimits()
    note: str = ""
    simulated: bool = False  # the built-in simulator: free, takes any key, says so on the page
    organization: bool = False  # GET /v1/organization answers the credit balance and the tier's daily limits
    key_prefix: str = ""  # how this provider's keys begin ("" for the simulator, which takes any)

    def models_for(self, endpoint: Endpoint) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if m.endpoint == endpoint)

    def model(self, name: str, endpoint: Endpoint) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name and m.endpoint == endpoint), None)

    @property
    def model_names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models)


_ALEPH_VIDEO = MappingProxyType({"videoUri": VideoInputRule(use_first_seconds=5.0)})
_ACT_TWO_VIDEO = MappingProxyType(
    {"reference": VideoInputRule(min_seconds=3.0, max_seconds=30.0), "character": VideoInputRule(max_seconds=30.0)}
)

# --- openai-hk, the proxy our users buy keys from -------------------------------------------------------------
# The proxy's docs send gen4_turbo with a `last` frame and with ratio 1280:768. Both are rejected upstream
# (runway-api.md, "image_to_video": "Validate per model; never send them"), so gen4_turbo here takes the first
# frame only and the six gen4 ratios. The proxy documents durations 5 and 10 only and bills 5 s tiers. Its table
# stays as its own docs say: none of the official API's newer models are listed there.
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
    legacy=True,
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
    ratio_required=True,  # upstream follows the input video, but a valid ratio must still be sent
    credits_per_second=15,
    video_inputs=_ALEPH_VIDEO,
    options=("references", "contentModeration"),
    legacy=True,
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
    models=(_HK_GEN4_TURBO, _HK_GEN3A_TURBO, _HK_GEN4_ALEPH, _ACT_TWO),
    note="Bills 5 s and 10 s tiers (10 s costs twice 5 s).",
    key_prefix="hk-",
)

# --- Runway's official API (runwayml 5.24 types/, runway-api.md "The official API as of late 2026") -------------
# gen3a_turbo and gen4_aleph were removed on 2026-06-10 (runway_models.json, "removed_upstream"): not served here.


def _gen4_5(endpoint: Endpoint, ratios: tuple[str, ...], positions: tuple[str, ...] = ()) -> ModelSpec:
    """gen4.5: prompt, ratio and duration (2-10 s) required; 12 credits/s."""
    return ModelSpec(
        name="gen4.5",
        endpoint=endpoint,
        label="Gen-4.5",
        ratios=ratios,
        default_ratio="1280:720",
        durations=tuple(range(2, 11)),
        default_duration=5,
        duration_required=True,
        prompt_required=True,
        ratio_required=True,
        credits_per_second=12,
        options=("contentModeration",),
        positions=positions,
    )


def _veo(
    name: str, label: str, endpoint: Endpoint, *, silent: int, with_audio: int, positions: tuple[str, ...] = ()
) -> ModelSpec:
    """Veo 3.1: 4 ratios; 4, 6 or 8 s; audio (on by default) changes the price; a negative prompt. Veo refuses
    any field it does not know (additionalProperties: false), so it takes no contentModeration."""
    return ModelSpec(
        name=name,
        endpoint=endpoint,
        label=label,
        ratios=VEO_RATIOS,
        default_ratio="1280:720",
        durations=(4, 6, 8),
        default_duration=8,
        ratio_required=True,
        prompt_required=endpoint == "text_to_video",
        credits_per_second=silent,
        audio_credits_per_second=with_audio,
        options=("audio", "negativePrompt"),
        positions=positions,
    )


_ALEPH2 = ModelSpec(
    name="aleph2",
    endpoint="video_to_video",
    label="Aleph 2",
    ratios=(),  # ratio is deprecated: the output keeps the input's resolution (up to 1080p)
    default_ratio=None,
    credits_per_second=28,
    minimum_credits=56,
    price_is_estimate=True,  # 28 credits/s and the 56-credit minimum are third-party figures (runway-api.md)
    video_inputs=MappingProxyType({"videoUri": VideoInputRule(min_seconds=2.0, max_seconds=30.0, max_fps=30.0)}),
    max_keyframes=5,
    outpaint_aspects=OUTPAINT_ASPECTS,
    options=("keyframes", "targetAspectRatio", "contentModeration"),
)

# --- the finishing passes (runwayml 5.24 types/video_upscale_create_params.py, video_to_audio_create_params.py) ----
# Output frame rates enhance_frame_rate offers; "23_98" is 23.98 (24000/1001) fps, as the API spells it.
TARGET_FRAMERATES = ("24", "25", "30", "48", "50", "60", "120", "23_98", "29_97", "59_94")
UPSCALE_RESOLUTIONS = ("720p", "1k", "2k", "4k")
# The short side of the picture each upscale resolution makes (the aspect is kept): 720p is 720 lines, 1k 1080
# (Full HD), 2k 1440 (QHD) and 4k 2160 (UHD). Runway does not document the sizes: this mapping is ours.
UPSCALE_LINES = MappingProxyType({"720p": 720, "1k": 1080, "2k": 1440, "4k": 2160})
_UPSCALE_LIMIT = MappingProxyType({"videoUri": VideoInputRule(max_seconds=30.0)})
_ANY_CLIP = MappingProxyType({"videoUri": VideoInputRule()})  # no documented limit beyond the common input rules
_PERCENT = (0, 100)

_MAGNIFIC = ModelSpec(
    name="magnific_video_upscaler_creative",
    endpoint="video_upscale",
    label="Upscale (Magnific)",
    ratios=(),
    default_ratio=None,
    credits_per_second=0,
    # $0.007 a frame at 720p and 1k, $0.009 at 2k, $0.012 at 4k (third-party figures, runway-api.md): 1 credit = $0.01.
    credits_per_frame=MappingProxyType({"720p": 0.7, "1k": 0.7, "2k": 0.9, "4k": 1.2}),
    price_is_estimate=True,
    video_inputs=_UPSCALE_LIMIT,
    options=("resolution", "creativity", "sharpen", "smartGrain", "flavor", "fpsBoost"),
    option_rules=MappingProxyType(
        {
            "resolution": OptionRule(choices=UPSCALE_RESOLUTIONS, default="2k"),
            "creativity": OptionRule(bounds=_PERCENT),
            "sharpen": OptionRule(bounds=_PERCENT),
            "smartGrain": OptionRule(bounds=_PERCENT),
            "flavor": OptionRule(choices=("vivid", "natural")),
            "fpsBoost": OptionRule(default=False),
        }
    ),
    seed=False,
)
_FRAME_RATE = ModelSpec(
    name="enhance_frame_rate",
    endpoint="video_upscale",
    label="Frame rate",
    ratios=(),
    default_ratio=None,
    # No published price: 2 credits a second of output is a guess, shown as an estimate.
    credits_per_second=2,
    price_is_estimate=True,
    price_is_guess=True,
    video_inputs=_ANY_CLIP,
    options=("targetFramerate",),
    option_rules=MappingProxyType({"targetFramerate": OptionRule(choices=TARGET_FRAMERATES, required=True)}),
    seed=False,
)
_MIRELO = ModelSpec(
    name="mirelo_sfx_2_0",
    endpoint="video_to_audio",
    label="Add sound",
    ratios=(),
    default_ratio=None,
    # No published price: 1 credit a second of sound (each variant) is a guess, shown as an estimate.
    credits_per_second=1,
    price_is_estimate=True,
    price_is_guess=True,
    video_inputs=_ANY_CLIP,
    options=("negativePrompt", "format", "numVariants", "preserveSpeech"),
    option_rules=MappingProxyType(
        {
            "format": OptionRule(choices=("mp3", "wav", "flac")),
            "numVariants": OptionRule(bounds=(1, 4)),  # the bounds are a guess: the SDK gives none
        }
    ),
)

RUNWAY = ProviderSpec(
    name="runway",
    label="Runway",
    base_url="https://api.dev.runwayml.com",
    key_prefix="key_",
    poll_interval_s=5.0,
    models=(
        _gen4_5("image_to_video", GEN4_RATIOS, positions=("first",)),
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
        _veo("veo3.1", "Veo 3.1", "image_to_video", silent=20, with_audio=40, positions=("first", "last")),
        _veo("veo3.1_fast", "Veo 3.1 Fast", "image_to_video", silent=10, with_audio=15, positions=("first", "last")),
        _gen4_5("text_to_video", ("1280:720", "720:1280")),
        _veo("veo3.1", "Veo 3.1", "text_to_video", silent=20, with_audio=40),
        _veo("veo3.1_fast", "Veo 3.1 Fast", "text_to_video", silent=10, with_audio=15),
        _ALEPH2,
        _ACT_TWO,
        _MAGNIFIC,
        _FRAME_RATE,
        _MIRELO,
    ),
    # SDK 5.24's docstrings cap video (and audio) data URIs at 5 MB; anything bigger is uploaded (200 MB at most).
    limits=InputLimits(video_data_uri_bytes=5 * MIB, upload_min_bytes=512, upload_max_bytes=200_000_000),
    organization=True,
)

# --- the built-in simulator: each provider's rules, free and offline, polled faster so demos feel alive ---------
# It serves the proxy's table under /runwayml/v1 and the official one under /v1 (studio/simulator/app.py).


def _simulating(real: ProviderSpec, name: ProviderName, rules: str) -> ProviderSpec:
    """The simulator serving ``real``'s models under ``real``'s limits (``rules`` names them on the page)."""
    return ProviderSpec(
        name=name,
        label=f"Simulator · {real.label}",
        base_url="",
        poll_interval_s=0.5,
        models=real.models,
        limits=real.limits,
        simulated=True,
        organization=real.organization,
        note=f"Runs inside the studio under {rules}; clips are simulated placeholders and cost nothing.",
    )


SIMULATOR = _simulating(OPENAI_HK, "simulator", "the proxy's rules")
SIMULATOR_RUNWAY = _simulating(RUNWAY, "simulator-runway", "the official API's rules")

PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType(
    {p.name: p for p in (SIMULATOR, SIMULATOR_RUNWAY, OPENAI_HK, RUNWAY)}
)


def key_owner(key: str) -> ProviderSpec | None:
    """The real provider whose keys look like ``key`` (Runway's begin ``key_``, openai-hk's ``hk-``), if any."""
    key = key.strip()
    return next((p for p in PROVIDERS.values() if p.key_prefix and key.startswith(p.key_prefix)), None)


def foreign_key(provider: ProviderSpec, key: str) -> ProviderSpec | None:
    """The other provider ``key`` plainly belongs to, when it is not ``provider``'s (a Runway key sent to the
    proxy fails there with a bare 401; saying so before sending is kinder). None when it may be this one's."""
    owner = key_owner(key)
    return owner if owner is not None and not provider.simulated and owner.name != provider.name else None


# Which real provider's rules each dialect of the simulator follows, by the path prefix it is served under.
SIMULATED_DIALECTS: Mapping[str, ProviderSpec] = MappingProxyType({"/runwayml": SIMULATOR, "": SIMULATOR_RUNWAY})

# Path prefix the client puts before /v1/... for each provider. The proxy serves the API under /runwayml,
# already part of its base URL.
API_PREFIX = "/v1"


# Every optional body field some model takes: a request that sets one is checked against its model's ``options``.
OPTIONS: frozenset[str] = frozenset(o for p in PROVIDERS.values() for m in p.models for o in m.options)


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


def framerate_label(value: str) -> str:
    """How a frame rate the API spells "23_98" reads on the page: 23.98."""
    return value.replace("_", ".")


def framerate_fps(value: str) -> Fraction:
    """The exact rate a targetFramerate names: "24" is 24, "23_98" is 24000/1001 (NTSC's 23.976...)."""
    whole, _, fraction = value.partition("_")
    if not fraction:
        return Fraction(int(whole))
    return Fraction((int(whole) + 1) * 1000, 1001)


def upscaled_size(size: tuple[int, int], resolution: str) -> tuple[int, int]:
    """The picture an upscale to ``resolution`` makes of ``size``: its short side UPSCALE_LINES long, the aspect kept,
    both sides even (H.264's 4:2:0 needs them so)."""
    width, height = size
    lines = UPSCALE_LINES[resolution]
    scale = lines / min(width, height)
    return tuple(max(2, 2 * round(side * scale / 2)) for side in (width, height))  # type: ignore[return-value]
