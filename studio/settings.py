"""Settings, read once from the environment at the edge and passed down. The only module that reads os.environ.

Tests build ``Settings.from_env({...})`` from a plain dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studio.capabilities import PROVIDERS
from studio.spend import SpendPolicy


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (as text) and what it does. The README table is made from these."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "STUDIO_PROVIDER", "openai-hk with a key, else simulator", "Which API to use: simulator, openai-hk or runway."
    ),
    Setting(
        "STUDIO_API_KEY",
        "(none)",
        "The server's API key. Without one (and without a visitor's own key) the studio runs on the simulator.",
    ),
    Setting(
        "RUNWAYML_API_SECRET",
        "(none)",
        "The key for provider runway when STUDIO_API_KEY is not set (the official SDK's variable).",
    ),
    Setting(
        "STUDIO_BASE_URL",
        "the provider's",
        "Override the provider's base URL (e.g. a standalone simulator at http://127.0.0.1:8787).",
    ),
    Setting(
        "STUDIO_DATA_DIR",
        "./data (on a Space with storage: /data/runway-studio)",
        "Where history, outputs and inputs are kept.",
    ),
    Setting("STUDIO_SIM_PENDING_S", "1.0", "Simulator: seconds a task stays PENDING."),
    Setting("STUDIO_SIM_RUNNING_S", "4.0", "Simulator: seconds a task stays RUNNING."),
    Setting("STUDIO_SIM_MAX_CONCURRENT", "(unlimited)", "Simulator: tasks beyond this wait as THROTTLED."),
    Setting(
        "STUDIO_SECRET",
        "made once, kept in the data dir",
        "Encrypts the visitor token kept in each browser (history belongs to it). Keep it fixed.",
    ),
    Setting(
        "STUDIO_DAILY_CREDIT_CAP",
        "(no cap)",
        "Spend guard: credits the server key may spend per UTC day, for the whole studio.",
    ),
    Setting(
        "STUDIO_VISITOR_DAILY_CREDIT_CAP",
        "(no cap)",
        "Spend guard: credits the server key may spend per UTC day for one visitor.",
    ),
    Setting(
        "STUDIO_ALLOWED_MODELS",
        "(all)",
        "Spend guard: comma-separated models the server key may be used for, e.g. gen4_turbo,act_two.",
    ),
    Setting(
        "STUDIO_REQUIRE_VISITOR_KEY",
        "false",
        "Spend guard: true = every visitor must enter their own key; the server key is never used for them.",
    ),
    Setting("STUDIO_MAX_UPLOAD_MB", "100", "Largest upload the page accepts, in MB."),
    Setting(
        "STUDIO_MAX_SESSIONS",
        "1000",
        "Open pages whose session state (about 1 MB each) is kept in memory; beyond it the least recently used page "
        "loses its key and must enter it again. A closed page's state goes an hour after it closed.",
    ),
    Setting(
        "SPACE_ID",
        "(set by Hugging Face)",
        "On a Space: uses its persistent storage at /data when mounted, and warns when there is none.",
    ),
    Setting(
        "OAUTH_CLIENT_ID",
        "(set by Hugging Face)",
        "Set on a Space with hf_oauth: true: the page offers sign-in with Hugging Face.",
    ),
    Setting(
        "GRADIO_SERVER_NAME / GRADIO_SERVER_PORT", "127.0.0.1 / 7860", "Where the studio listens (read by Gradio)."
    ),
)


DEFAULT_MAX_SESSIONS = 1000  # pages whose Gradio session state is kept (Gradio's own default is 10,000: gigabytes)
SPACE_STORAGE = Path("/data")  # where a Hugging Face Space mounts its persistent storage volume


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    provider: str = "simulator"
    api_key: str = field(default="", repr=False)  # never printed
    base_url: str = ""
    data_dir: Path = Path("data")
    sim_pending_s: float = 1.0
    sim_running_s: float = 4.0
    sim_max_concurrent: int | None = None
    max_upload_mb: int = 100
    max_sessions: int = DEFAULT_MAX_SESSIONS
    secret: str = field(default="", repr=False)
    daily_credit_cap: int | None = None
    visitor_daily_credit_cap: int | None = None
    allowed_models: frozenset[str] | None = None
    require_visitor_key: bool = False
    space_id: str = ""  # set on a Hugging Face Space
    oauth: bool = False  # Hugging Face sign-in is configured (a Space with hf_oauth: true sets OAUTH_CLIENT_ID)
    persistent: bool = True  # False: the data dir is a Space's temporary disk, lost on restart

    @property
    def spend_policy(self) -> SpendPolicy:
        return SpendPolicy(
            deployment_daily_credits=self.daily_credit_cap,
            visitor_daily_credits=self.visitor_daily_credit_cap,
            allowed_models=self.allowed_models,
            visitor_key_required=self.require_visitor_key,
        )

    @property
    def on_space(self) -> bool:
        return bool(self.space_id)

    @property
    def uses_simulator(self) -> bool:
        return self.provider == "simulator"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, space_storage: Path = SPACE_STORAGE) -> Settings:
        env = os.environ if environ is None else environ
        key = env.get("STUDIO_API_KEY", "").strip()
        provider = env.get("STUDIO_PROVIDER", "").strip() or ("openai-hk" if key else "simulator")
        if provider not in PROVIDERS:
            raise SettingsError(f"STUDIO_PROVIDER={provider!r} is not known. Use one of: {', '.join(PROVIDERS)}.")
        if provider == "runway" and not key:
            key = env.get("RUNWAYML_API_SECRET", "").strip()
        space_id = env.get("SPACE_ID", "").strip()
        data_dir, persistent = _data_dir(
            env.get("STUDIO_DATA_DIR", "").strip(), on_space=bool(space_id), storage=space_storage
        )
        return cls(
            provider=provider,
            api_key=key,
            base_url=env.get("STUDIO_BASE_URL", "").strip(),
            data_dir=data_dir,
            sim_pending_s=_number(env, "STUDIO_SIM_PENDING_S", 1.0),
            sim_running_s=_number(env, "STUDIO_SIM_RUNNING_S", 4.0),
            sim_max_concurrent=_optional_int(env, "STUDIO_SIM_MAX_CONCURRENT"),
            max_upload_mb=int(_number(env, "STUDIO_MAX_UPLOAD_MB", 100)),
            max_sessions=_optional_int(env, "STUDIO_MAX_SESSIONS", minimum=1) or DEFAULT_MAX_SESSIONS,
            secret=env.get("STUDIO_SECRET", "").strip(),
            daily_credit_cap=_optional_int(env, "STUDIO_DAILY_CREDIT_CAP", minimum=0),
            visitor_daily_credit_cap=_optional_int(env, "STUDIO_VISITOR_DAILY_CREDIT_CAP", minimum=0),
            allowed_models=_models(env.get("STUDIO_ALLOWED_MODELS", "")),
            require_visitor_key=_flag(env, "STUDIO_REQUIRE_VISITOR_KEY"),
            space_id=space_id,
            oauth=bool(env.get("OAUTH_CLIENT_ID", "").strip()),
            persistent=persistent,
        )


def _data_dir(raw: str, *, on_space: bool, storage: Path) -> tuple[Path, bool]:
    """Where data goes, and whether it survives a restart. On a Space only a mounted storage volume does."""
    mounted = storage.is_dir() and os.access(storage, os.W_OK)
    if raw:
        path = Path(raw)
        return path, not on_space or (mounted and path.resolve().is_relative_to(storage.resolve()))
    if on_space and mounted:
        return storage / "runway-studio", True
    return Path("data"), not on_space


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative.")
    return value


def _optional_int(env: Mapping[str, str], name: str, *, minimum: int = 1) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < minimum:
        raise SettingsError(f"{name}={raw!r} must be a whole number of at least {minimum}.")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r}: use true or false.")


def _models(raw: str) -> frozenset[str] | None:
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    known = {m for p in PROVIDERS.values() for m in p.models}
    unknown = sorted(names - known)
    if unknown:
        raise SettingsError(
            f"STUDIO_ALLOWED_MODELS names unknown models: {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
        )
    return names or None
