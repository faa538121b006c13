"""How the simulator behaves: timings, failure triggers, output expiry, concurrency.

Its timings are settings of the studio (``STUDIO_SIM_*``): their defaults are read from that one declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.settings import Settings

_DECLARED = Settings.model_fields


@dataclass(frozen=True)
class SimulatorConfig:
    """Settings of one simulator instance. Defaults make a demo feel alive: a clip in about five seconds."""

    pending_s: float = _DECLARED["sim_pending_s"].default  # PENDING before it starts running
    running_s: float = _DECLARED["sim_running_s"].default  # RUNNING from 0 to 1
    max_concurrent: int | None = None  # tasks beyond this wait as THROTTLED, like an account's tier limit
    output_ttl_s: float = 24 * 3600.0  # output links expire this long after the task succeeds
    moderation_trigger: str = "simulate moderation"  # a prompt containing this fails as moderated text
    moderation_failure_at: float = 0.3  # fraction of the running time after which the moderated task fails
    output_dir: Path | None = None  # where rendered clips go (a temporary folder when None)
    allow_private_urls: bool = False  # fetch URL inputs from loopback/private hosts (tests only)
    render_workers: int = 2  # clips rendered at once; more wait (the machine has 2 cores)
    url_secret: str = ""  # signs output links; random per instance when empty
    admin: bool = False  # serve /_simulator/faults and /_simulator/stats (fault injection over HTTP)
    starting_credits: int = 100_000  # the account's balance before any task is charged (GET /v1/organization)
    upload_ttl_s: float = 24 * 3600.0  # an ephemeral upload's runway:// URI works this long

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorConfig:
        """The embedded simulator's config: the settings' timings; its clips go in the data dir."""
        return cls(
            pending_s=settings.sim_pending_s,
            running_s=settings.sim_running_s,
            max_concurrent=settings.sim_max_concurrent,
            output_dir=settings.data_dir / "simulator",
        )
