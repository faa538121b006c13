"""Composition: settings in, the studio out. The one place that knows what the studio is made of.

    settings -> transports (the network, or the embedded simulator in-process) -> one client per provider
             -> the history store (SQLite, or PostgreSQL shared by replicas), the file store (the data dir, or
                a bucket) -> the service (``Studio``)

The service never imports the simulator: when the studio runs on it, the simulator is just another transport
(``httpx.ASGITransport``), wrapped so that connection faults can be injected (``FaultyTransport``).
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import httpx
from gradio.utils import get_upload_folder

from studio.capabilities import PROVIDERS, SIMULATED_DIALECTS
from studio.client import RunwayClient
from studio.db import is_postgresql
from studio.history import HistoryStore
from studio.identity import Signer, Visitors
from studio.service import Studio
from studio.settings import Settings, without_credentials
from studio.simulator.app import create_app as create_simulator
from studio.simulator.config import SimulatorConfig
from studio.simulator.faults import FaultyTransport
from studio.storage import open_store

EMBEDDED_SIMULATOR_URL = "http://simulator.internal"  # never resolved: the ASGI transport answers it in-process
STANDALONE_SIMULATOR_URL = "http://127.0.0.1:8787"  # python -m studio.simulator (what copy-as-code points at)


def build_studio(settings: Settings, *, simulator: SimulatorConfig | None = None) -> Studio:
    """The studio for ``settings``: the simulator in-process (or at STUDIO_BASE_URL), plus the real providers."""
    override = settings.base_url.rstrip("/")
    clients: dict[str, RunwayClient] = {}
    code_base_urls: dict[str, str] = {}
    simulator_app = None
    # STUDIO_BASE_URL names a standalone simulator's root when the server's provider is a simulated one: both of
    # its dialects are then served from there. For a real provider it replaces that provider's base URL.
    standalone = override if override and PROVIDERS[settings.provider].simulated else ""
    for name, spec in PROVIDERS.items():
        base = override if (name == settings.provider and override) else None
        if spec.simulated:
            prefix = next(p for p, dialect in SIMULATED_DIALECTS.items() if dialect.name == name)
            if standalone:
                clients[name] = RunwayClient(provider=spec, base_url=standalone + prefix)
                code_base_urls[name] = without_credentials(standalone) + prefix
                continue
            if simulator_app is None:  # one simulator serves both dialects, each under its own prefix
                simulator_app = create_simulator(simulator or SimulatorConfig.from_settings(settings))
                transport = FaultyTransport(httpx.ASGITransport(app=simulator_app), simulator_app.state.faults)
            clients[name] = RunwayClient(provider=spec, base_url=EMBEDDED_SIMULATOR_URL + prefix, transport=transport)
            code_base_urls[name] = STANDALONE_SIMULATOR_URL + prefix
        else:
            clients[name] = RunwayClient(provider=spec, base_url=base)
            if base:
                code_base_urls[name] = without_credentials(base)
    return Studio(
        clients=clients,
        server_provider=settings.provider,
        server_key=settings.server_key,
        data_dir=settings.data_dir,
        history=HistoryStore(settings.history_url),  # SQLite in the data dir, or PostgreSQL shared by replicas
        spend=settings.spend_policy,
        code_base_urls=code_base_urls,
        simulator_app=simulator_app,
        disk=settings.disk_policy(Path(get_upload_folder())),  # Gradio's uploads (GRADIO_TEMP_DIR), trimmed too
        store=open_store(
            settings.storage_url,
            data_dir=settings.data_dir,
            endpoint_url=settings.storage_endpoint,
            region=settings.storage_region,
        ),
        replica_id=replica_id(settings),
        lease_ttl_s=settings.lease_ttl_s,
        link_secret=settings.secret.get_secret_value(),  # replicas across machines sign file links alike
    )


def replica_id(settings: Settings) -> str | None:
    """STUDIO_REPLICA_ID; else, on the embedded SQLite history (one machine), this host and data dir, so that a
    restarted studio takes its own leases back at once instead of waiting for them to expire; else (PostgreSQL)
    None: the studio makes up one of its own, unique to the process."""
    if settings.replica_id:
        return settings.replica_id
    if is_postgresql(settings.history_url):
        return None
    return f"{socket.gethostname()}:{settings.data_dir.resolve()}"


def visitors(settings: Settings, history: HistoryStore) -> Visitors:
    """Who is asking (``studio.identity``): tokens signed with the server's secret, addresses behind the proxies."""
    return Visitors(
        Signer(browser_secret(settings)),
        history,
        trusted_proxies=settings.trusted_proxies,
        new_per_address_daily=settings.new_visitors_per_address_daily,
    )


def browser_secret(settings: Settings) -> str:
    """The secret that signs visitor tokens (it stays on the server): STUDIO_SECRET, else one made once and kept
    in the data dir, so visitors keep their history across restarts. (It once encrypted the token in the browser;
    an old browser's token is read with it once, ``studio.identity``.)"""
    if settings.secret.get_secret_value():
        return settings.secret.get_secret_value()
    path = settings.data_dir / "browser_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
