"""Settings, read once from the environment at the edge and passed down. The only module that reads os.environ.

Each setting is declared once, as a field of ``Settings``: its environment variable, type, default and help. The
parser (pydantic), the README's table (``python -m studio.docs``) and the simulator's defaults read that one
declaration. Tests build ``Settings.from_env({...})`` from a plain dict.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from studio.capabilities import PROVIDERS, foreign_key, key_owner
from studio.capabilities import provider as provider_spec
from studio.db import database_address, is_postgresql, sqlite_path
from studio.disk import GB, MB, DiskPolicy
from studio.history import LEASE_TTL_S
from studio.spend import SpendPolicy
from studio.storage import parse_url

SPACE_STORAGE = Path("/data")  # where a Hugging Face Space mounts its persistent storage volume
# A Space's container is reached only through Hugging Face's proxies, from private addresses: these are believed for
# X-Forwarded-For there unless STUDIO_TRUSTED_PROXIES says otherwise.
SPACE_PROXIES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
ProviderName = Literal["simulator", "openai-hk", "runway"]


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable and what is allowed."""


def _env(name: str, default: Any, help: str, *, shown: str | None = None, **rules: Any) -> Any:
    """One environment variable: ``name``, its ``default`` (``shown`` in the README when it is worked out), and
    what it does. ``rules`` are pydantic's (``ge=1``...)."""
    return Field(default, validation_alias=name, description=help, json_schema_extra={"shown": shown}, **rules)


class Settings(BaseModel):
    """Everything the studio reads from its environment, checked once."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    provider: ProviderName = _env(
        "STUDIO_PROVIDER",
        "simulator",
        "Which API to use: simulator, openai-hk or runway.",
        shown="the key's provider (key_…: runway, hk-…: openai-hk), else simulator",
    )
    api_key: SecretStr = _env(
        "STUDIO_API_KEY",
        SecretStr(""),
        "The server's API key. Without one (and without a visitor's own key) the studio runs on the simulator.",
        shown="(none)",
    )
    runway_api_secret: SecretStr = _env(
        "RUNWAYML_API_SECRET",
        SecretStr(""),
        "The key for provider runway when STUDIO_API_KEY is not set (the official SDK's variable).",
        shown="(none)",
    )
    base_url: str = _env(
        "STUDIO_BASE_URL",
        "",
        "Override the provider's base URL (e.g. a standalone simulator at http://127.0.0.1:8787).",
        shown="the provider's",
    )
    data_dir: Path = _env(
        "STUDIO_DATA_DIR",
        Path("data"),
        "Where history, outputs and inputs are kept.",
        shown="./data (on a Space with storage: /data/runway-studio)",
    )
    storage_url: str = _env(
        "STUDIO_STORAGE_URL",
        "",
        "Replicas: an S3-compatible bucket (s3://bucket/prefix) that keeps the clips, posters, kept inputs and "
        "exports for every replica; the data dir is then each replica's cache of it. Every replica needs the same "
        "STUDIO_DATA_DIR path. Credentials: boto3's own (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, a profile or "
        'a role). Needs pip install -e ".[replicas]".',
        shown="(none: the data dir alone)",
    )
    storage_endpoint: str = _env(
        "STUDIO_STORAGE_ENDPOINT",
        "",
        "Replicas: the S3-compatible service's URL when it is not AWS (Cloudflare R2, MinIO, ...).",
        shown="(AWS)",
    )
    storage_region: str = _env(
        "STUDIO_STORAGE_REGION", "", "Replicas: the bucket's region (R2: auto).", shown="(boto3's: AWS_REGION)"
    )
    database_url: SecretStr = _env(
        "STUDIO_DATABASE_URL",
        SecretStr(""),
        "Where History is kept: a SQLite file, or postgresql://user:password@host/db shared by several replicas "
        '(needs psycopg: pip install -e ".[replicas]"). Never printed with its password.',
        shown="sqlite:///STUDIO_DATA_DIR/history.sqlite3",
    )
    replica_id: str = _env(
        "STUDIO_REPLICA_ID",
        "",
        "This replica's name in the leases it holds (which generations it follows, who runs the upkeep); give each "
        "replica its own, kept across its restarts, and a restarted one takes its work back at once.",
        shown="SQLite: host name and data dir; PostgreSQL: host name, process id and a random suffix",
    )
    lease_ttl_s: float = _env(
        "STUDIO_LEASE_TTL_S",
        LEASE_TTL_S,
        "Seconds a replica's lease lasts unless renewed (renewed every third of it); another replica takes over an "
        "unfinished generation this long after its replica stopped.",
        ge=3,
    )
    sim_pending_s: float = _env("STUDIO_SIM_PENDING_S", 1.0, "Simulator: seconds a task stays PENDING.", ge=0)
    sim_running_s: float = _env("STUDIO_SIM_RUNNING_S", 4.0, "Simulator: seconds a task stays RUNNING.", ge=0)
    sim_max_concurrent: int | None = _env(
        "STUDIO_SIM_MAX_CONCURRENT", None, "Simulator: tasks beyond this wait as THROTTLED.", shown="(unlimited)", ge=1
    )
    secret: SecretStr = _env(
        "STUDIO_SECRET",
        SecretStr(""),
        "Signs the visitor token kept in each browser (history belongs to it); read by the server only, never sent "
        "to a browser. Keep it fixed.",
        shown="made once, kept in the data dir",
    )
    daily_credit_cap: int | None = _env(
        "STUDIO_DAILY_CREDIT_CAP",
        None,
        "Spend guard: credits the server key may spend per UTC day, for the whole studio.",
        shown="(no cap)",
        ge=0,
    )
    visitor_daily_credit_cap: int | None = _env(
        "STUDIO_VISITOR_DAILY_CREDIT_CAP",
        None,
        "Spend guard: credits the server key may spend per UTC day for one visitor.",
        shown="(no cap)",
        ge=0,
    )
    trusted_proxies: tuple[str, ...] = _env(
        "STUDIO_TRUSTED_PROXIES",
        (),
        "Comma-separated IPs or CIDRs of the reverse proxies in front of the studio. Only from these is "
        "X-Forwarded-For believed; caps count the address it names. A Space is reached only through its proxy, "
        "from private addresses: there it defaults to the private ranges, else all visitors would share one address.",
        shown="(none: the direct peer's address; on a Space, the private ranges)",
    )
    new_visitors_per_address_daily: int = _env(
        "STUDIO_NEW_VISITORS_PER_ADDRESS_DAILY",
        20,
        "New visitor tokens the studio issues to one client address per UTC day; beyond it a new visitor is refused.",
        ge=1,
    )
    allowed_models: frozenset[str] | None = _env(
        "STUDIO_ALLOWED_MODELS",
        None,
        "Spend guard: comma-separated models the server key may be used for, e.g. gen4_turbo,act_two.",
        shown="(all)",
    )
    require_visitor_key: bool = _env(
        "STUDIO_REQUIRE_VISITOR_KEY",
        False,
        "Spend guard: true = every visitor must enter their own key; the server key is never used for them.",
        shown="false",
    )
    max_upload_mb: int = _env("STUDIO_MAX_UPLOAD_MB", 100, "Largest upload the page accepts, in MB.", ge=1)
    retention_days: float | None = _env(
        "STUDIO_RETENTION_DAYS",
        None,
        "Disk: a generation's clip, poster and inputs are removed this many days after it was made (oldest first; "
        "never a running or starred one). History keeps the row, marked as removed.",
        shown="(keep)",
        gt=0,
    )
    max_data_gb: float | None = _env(
        "STUDIO_MAX_DATA_GB",
        None,
        "Disk: when the data dir grows past this many GB (checked every minute), the oldest generations' files are "
        "removed until it is under 90 % of it (never a running or starred one; History keeps the row, marked as "
        "removed). With STUDIO_STORAGE_URL it bounds this replica's copies only: the oldest go, the bucket keeps them.",
        shown="(unlimited)",
        gt=0,
    )
    upload_max_age_min: float = _env(
        "STUDIO_UPLOAD_MAX_AGE_MIN",
        60,
        "Disk: files in Gradio's upload folder (GRADIO_TEMP_DIR) older than this many minutes are removed "
        "(a generation keeps its own copy of its inputs in the data dir).",
        gt=0,
    )
    upload_max_mb: int = _env(
        "STUDIO_UPLOAD_MAX_MB",
        1024,
        "Disk: Gradio's upload folder is kept under this many MB, oldest files first (files under 2 minutes old stay).",
        ge=1,
    )
    max_sessions: int = _env(
        "STUDIO_MAX_SESSIONS",
        1000,  # Gradio's own default is 10,000: gigabytes of session state
        "Open pages whose session state (about 1 MB each) is kept in memory; beyond it the least recently used page "
        "loses its key and must enter it again. A closed page's state goes an hour after it closed.",
        ge=1,
    )
    space_id: str = _env(
        "SPACE_ID",
        "",
        "On a Space: uses its persistent storage at /data when mounted, and warns when there is none.",
        shown="(set by Hugging Face)",
    )
    oauth_client_id: str = _env(
        "OAUTH_CLIENT_ID",
        "",
        "Set on a Space with hf_oauth: true: the page offers sign-in with Hugging Face.",
        shown="(set by Hugging Face)",
    )
    persistent: bool = Field(True, exclude=True)  # worked out: False when the data dir is a Space's temporary disk

    # --- what is worked out from the values ---------------------------------------------------------------------

    @property
    def server_key(self) -> str:
        """The key the server uses for its provider: STUDIO_API_KEY, or RUNWAYML_API_SECRET for runway."""
        key = self.api_key.get_secret_value()
        if not key and self.provider == "runway":
            key = self.runway_api_secret.get_secret_value()
        return key

    @property
    def history_url(self) -> str:
        """STUDIO_DATABASE_URL, or the SQLite file in the data dir."""
        return self.database_url.get_secret_value() or str(self.data_dir / "history.sqlite3")

    @property
    def spend_policy(self) -> SpendPolicy:
        return SpendPolicy(
            deployment_daily_credits=self.daily_credit_cap,
            visitor_daily_credits=self.visitor_daily_credit_cap,
            allowed_models=self.allowed_models,
            visitor_key_required=self.require_visitor_key,
        )

    def disk_policy(self, upload_dir: Path | None) -> DiskPolicy:
        """The disk limits, with Gradio's upload folder (``upload_dir``) to trim."""
        return DiskPolicy(
            retention_days=self.retention_days,
            max_data_bytes=None if self.max_data_gb is None else int(self.max_data_gb * GB),
            upload_dir=upload_dir,
            upload_max_age_s=self.upload_max_age_min * 60,
            upload_max_bytes=self.upload_max_mb * MB,
        )

    @property
    def on_space(self) -> bool:
        return bool(self.space_id)

    @property
    def oauth(self) -> bool:
        """Hugging Face sign-in is configured (a Space with hf_oauth: true sets OAUTH_CLIENT_ID)."""
        return bool(self.oauth_client_id)

    @property
    def uses_simulator(self) -> bool:
        return self.provider == "simulator"

    @property
    def key_variable(self) -> str | None:
        """The variable the server's key came from (never the key itself), or None."""
        if self.api_key.get_secret_value():
            return "STUDIO_API_KEY"
        return "RUNWAYML_API_SECRET" if self.server_key else None

    def startup_message(self, url: str) -> str:
        """What the terminal says once the page is up: where it is, which provider and whose key (never the key),
        where the data is kept, and how to use a real key."""
        spec = provider_spec(self.provider)
        if spec.simulated:
            provider = f"{self.provider} (built in: free placeholder clips made from your inputs; no key needed)"
        else:
            provider = f"{spec.label} ({without_credentials(self.base_url or spec.base_url)})"
        source = self.key_variable
        key = f"from {source} (not shown)" if source else "none on the server: visitors enter their own in Settings"
        kept = "kept across restarts" if self.persistent else "NOT kept: this disk is wiped on restart"
        lines = [
            f"Runway Studio is running at {url}",
            f"  Provider: {provider}",
            f"  Key:      {key}" if not spec.simulated else "  Key:      none needed",
            f"  Data:     {self.data_dir.resolve()} (history, clips and inputs; {kept})",
            f"  History:  {self._history_engine()}",
        ]
        if self.replica_id:
            lines.append(f"  Replica:  {self.replica_id} (one of several sharing this data dir and secret)")
        if self.storage_url:
            where = f" at {without_credentials(self.storage_endpoint)}" if self.storage_endpoint else ""
            bucket = without_credentials(self.storage_url)
            lines.append(f"  Files:    {bucket}{where} (shared by the replicas; the data dir caches it)")
        if self.trusted_proxies:
            lines.append(f"  Proxies:  X-Forwarded-For is believed from {', '.join(self.trusted_proxies)}")
        if spec.simulated or not source:
            lines.append(
                "  For real clips: STUDIO_API_KEY=key_... python app.py (a Runway key: Runway's API), "
                "or STUDIO_API_KEY=hk-... (an openai-hk key: the proxy). Visitors can also enter a key in Settings."
            )
        return "\n".join(lines)

    def _history_engine(self) -> str:
        url = self.history_url
        if is_postgresql(url):
            return f"PostgreSQL, {database_address(url)} (shared by replicas)"
        return f"SQLite, {sqlite_path(url).resolve()}"

    # --- parsing ---------------------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, space_storage: Path = SPACE_STORAGE) -> Settings:
        """The settings in ``environ`` (os.environ by default). An empty variable counts as unset.

        Raises SettingsError naming every variable that has a value the studio cannot use.
        """
        env = os.environ if environ is None else environ
        given = {name: env[name].strip() for name in _VARIABLES if env.get(name, "").strip()}
        try:
            settings = cls.model_validate(given, context={"space_storage": space_storage})
        except ValidationError as err:
            raise SettingsError(" ".join(_problem(e, given) for e in err.errors())) from None
        other = foreign_key(provider_spec(settings.provider), settings.api_key.get_secret_value())
        if other is not None:  # named by its shape only: the key itself is never printed
            chosen = provider_spec(settings.provider)
            raise SettingsError(
                f"STUDIO_API_KEY looks like a {other.label} key (it begins with {other.key_prefix}), but "
                f"STUDIO_PROVIDER is {chosen.name}. Set STUDIO_PROVIDER={other.name}, or use your {chosen.label} "
                f"key (it begins with {chosen.key_prefix})."
            )
        return settings

    @model_validator(mode="before")
    @classmethod
    def _worked_out(cls, data: Any, info: Any) -> Any:
        """The provider follows the key when none is chosen; the data dir follows a Space's storage."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        if "STUDIO_PROVIDER" not in values and "provider" not in values:
            values["STUDIO_PROVIDER"] = _provider_for(values.get("STUDIO_API_KEY"), values.get("RUNWAYML_API_SECRET"))
        storage = (info.context or {}).get("space_storage", SPACE_STORAGE)
        raw_dir = values.get("STUDIO_DATA_DIR", "")
        data_dir, persistent = _data_dir(str(raw_dir), on_space=bool(values.get("SPACE_ID")), storage=storage)
        if "data_dir" not in values:
            values["STUDIO_DATA_DIR"] = data_dir
        values.setdefault("persistent", persistent)
        if values.get("SPACE_ID") and "STUDIO_TRUSTED_PROXIES" not in values and "trusted_proxies" not in values:
            values["STUDIO_TRUSTED_PROXIES"] = ",".join(SPACE_PROXIES)
        return values

    @field_validator("allowed_models", mode="before")
    @classmethod
    def _model_names(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        names = frozenset(_comma_list(raw))
        known = {m.name for p in PROVIDERS.values() for m in p.models}
        unknown = sorted(names - known)
        if unknown:
            raise ValueError(f"names unknown models: {', '.join(unknown)}. Known: {', '.join(sorted(known))}")
        return names or None

    @field_validator("storage_url")
    @classmethod
    def _bucket(cls, raw: str) -> str:
        if raw:
            parse_url(raw)  # a ValueError names what it must look like
        return raw

    @field_validator("storage_endpoint")
    @classmethod
    def _endpoint(cls, raw: str) -> str:
        if raw and urlsplit(raw).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return raw

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        names = _comma_list(raw)
        bad = []
        for name in names:
            try:
                ipaddress.ip_network(name, strict=False)
            except ValueError:
                bad.append(name)
        if bad:
            raise ValueError(f"has entries that are not IP addresses or CIDRs: {', '.join(bad)}. E.g. 10.0.0.0/8")
        return names


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` taken out, for printing."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


_VARIABLES = {str(f.validation_alias): name for name, f in Settings.model_fields.items() if f.validation_alias}
DEFAULT_MAX_SESSIONS: int = Settings.model_fields["max_sessions"].default

# Read by others, documented beside the studio's own (the README's table).
OTHER_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("GRADIO_SERVER_NAME / GRADIO_SERVER_PORT", "127.0.0.1 / 7860", "Where the studio listens (read by Gradio)."),
)


def documented() -> list[tuple[str, str, str]]:
    """(variable, default as shown, what it does) for every setting, in declaration order (the README's table)."""
    rows = []
    for field in Settings.model_fields.values():
        if not field.validation_alias:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = extra.get("shown") or _shown(field.default)
        rows.append((str(field.validation_alias), str(shown), field.description or ""))
    return rows + list(OTHER_VARIABLES)


def _shown(default: Any) -> str:
    return str(default).lower() if isinstance(default, bool) else str(default)


def _problem(error: Any, given: Mapping[str, str]) -> str:
    """One pydantic error as a sentence naming the variable, the value and what is allowed."""
    name = str(error["loc"][0]) if error["loc"] else "settings"
    raw = given.get(name, error.get("input"))
    kind, ctx = error["type"], error.get("ctx") or {}
    field = Settings.model_fields.get(_VARIABLES.get(name, ""))
    if field is not None and field.annotation is SecretStr:
        raw = "(not shown)"  # a secret is never printed, even when it is wrong
    elif isinstance(raw, str):
        raw = without_credentials(raw)  # nor the user:password@ of an address
    if field is not None and kind.startswith(("int_", "float_", "greater_than")):
        whole = "int" in str(field.annotation)
        low = next((rule.ge for rule in field.metadata if hasattr(rule, "ge")), None)
        above = next((rule.gt for rule in field.metadata if hasattr(rule, "gt")), None)
        at_least = f" of at least {low}" if low is not None else f" greater than {above}" if above is not None else ""
        return f"{name}={raw!r} must be {'a whole number' if whole else 'a number'}{at_least}."
    if kind == "bool_parsing":
        return f"{name}={raw!r}: use true or false."
    if kind == "literal_error":
        return f"{name}={raw!r} is not known. Use one of: {ctx.get('expected', '')}."
    return f"{name}={raw!r} {error['msg'].removeprefix('Value error, ')}."


def _comma_list(raw: str) -> tuple[str, ...]:
    """A comma-separated setting's items, trimmed, the empty ones left out."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _provider_for(api_key: Any, runway_secret: Any) -> str:
    """The provider when none is chosen: the one whose keys look like STUDIO_API_KEY (openai-hk for a key of no
    known shape, as before), runway for the official SDK's RUNWAYML_API_SECRET alone, else the simulator."""
    if api_key:
        owner = key_owner(str(api_key))
        return owner.name if owner else "openai-hk"
    return "runway" if runway_secret else "simulator"


def _data_dir(raw: str, *, on_space: bool, storage: Path) -> tuple[Path, bool]:
    """Where data goes, and whether it survives a restart. On a Space only a mounted storage volume does."""
    mounted = storage.is_dir() and os.access(storage, os.W_OK)
    if raw:
        path = Path(raw)
        return path, not on_space or (mounted and path.resolve().is_relative_to(storage.resolve()))
    if on_space and mounted:
        return storage / "runway-studio", True
    return Path("data"), not on_space
