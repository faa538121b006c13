"""What a newcomer is told before anything is sent: the terminal's start-up message, the provider a key's shape
picks, and a key of one provider never sent to the other (from the environment or typed on the page)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.capabilities import OPENAI_HK, RUNWAY
from studio.errors import InvalidInput
from studio.settings import Settings, SettingsError
from studio.simulator.config import SimulatorConfig
from tests.conftest import ROOT, free_port
from tests.rigs import SimulatedStudio, paper_boats
from tests.test_restart import base_env

RUNWAY_SHAPED = "key_FAKE_startup_0001"
PROXY_SHAPED = "hk-FAKE-startup-0002"


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({}, "simulator"),
        ({"STUDIO_API_KEY": RUNWAY_SHAPED}, "runway"),  # a Runway key alone goes to Runway, not to the proxy
        ({"STUDIO_API_KEY": PROXY_SHAPED}, "openai-hk"),
        ({"STUDIO_API_KEY": "sk-of-no-known-shape"}, "openai-hk"),  # as before: the proxy most users buy from
        ({"RUNWAYML_API_SECRET": RUNWAY_SHAPED}, "runway"),  # the official SDK's variable
        ({"STUDIO_API_KEY": RUNWAY_SHAPED, "STUDIO_PROVIDER": "simulator"}, "simulator"),  # the simulator takes any
    ],
)
def test_the_provider_follows_the_shape_of_the_key(env: dict[str, str], provider: str) -> None:
    assert Settings.from_env(env).provider == provider


@pytest.mark.parametrize(
    ("key", "chosen", "owner"), [(RUNWAY_SHAPED, "openai-hk", "runway"), (PROXY_SHAPED, "runway", "openai-hk")]
)
def test_a_key_of_the_other_provider_is_refused_at_start_without_showing_it(key: str, chosen: str, owner: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STUDIO_API_KEY": key, "STUDIO_PROVIDER": chosen})
    message = str(refused.value)
    assert f"STUDIO_PROVIDER={owner}" in message and "STUDIO_API_KEY" in message
    assert key not in message and key[6:] not in message


async def test_a_visitor_key_of_the_other_provider_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    rig = SimulatedStudio(tmp_path, OPENAI_HK, SimulatorConfig(pending_s=0.1, running_s=0.2, output_dir=tmp_path / "s"))
    with pytest.raises(InvalidInput) as refused:
        await rig.studio.submit(paper_boats(), provider="openai-hk", visitor="browser:a", visitor_key=RUNWAY_SHAPED)
    (issue,) = refused.value.issues
    assert issue.field == "API key"
    assert "Runway" in str(issue) and "key_" in str(issue) and RUNWAY_SHAPED not in str(issue)
    assert rig.created == 0
    job = await rig.studio.submit(paper_boats(), provider="openai-hk", visitor="browser:a", visitor_key=PROXY_SHAPED)
    assert (await job.wait_done()).phase == "succeeded" and rig.created == 1  # the proxy's own key goes through
    assert RUNWAY.key_prefix == "key_" and OPENAI_HK.key_prefix == "hk-"


def run_app(
    env: dict[str, str], cwd: Path, *, until: str, exits: bool = False, timeout_s: float = 90
) -> tuple[str, int | None]:
    """``python app.py`` as a newcomer runs it: its terminal output until ``until`` shows (or it exits), and its
    exit code (``exits``: it is expected to end by itself)."""
    log = cwd / "terminal.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=cwd, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and proc.poll() is None and until not in log.read_text("utf-8"):
                time.sleep(0.2)
            if exits:
                proc.wait(timeout=timeout_s)
        finally:
            code = proc.poll()
            if code is None:
                proc.terminate()
                proc.wait(timeout=20)
    return log.read_text("utf-8"), code


def test_the_terminal_says_where_the_studio_is_which_provider_and_how_to_use_a_real_key(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(GRADIO_SERVER_PORT=str(port))
    said, _ = run_app(env, tmp_path, until="For real clips")
    assert f"Runway Studio is running at http://127.0.0.1:{port}/" in said, said
    assert "Provider: simulator" in said
    assert f"Data:     {tmp_path / 'data'}" in said
    assert "STUDIO_API_KEY=key_" in said and "openai-hk" in said


def test_the_terminal_names_where_the_key_came_from_never_the_key(tmp_path: Path) -> None:
    env = base_env(GRADIO_SERVER_PORT=str(free_port()), STUDIO_API_KEY=RUNWAY_SHAPED)
    said, _ = run_app(env, tmp_path, until="Data:")
    assert "Provider: Runway (https://api.dev.runwayml.com)" in said, said
    assert "Key:      from STUDIO_API_KEY (not shown)" in said
    assert RUNWAY_SHAPED not in said


def test_a_mismatched_key_stops_the_start_with_one_plain_line(tmp_path: Path) -> None:
    env = base_env(GRADIO_SERVER_PORT=str(free_port()), STUDIO_API_KEY=RUNWAY_SHAPED, STUDIO_PROVIDER="openai-hk")
    said, code = run_app(env, tmp_path, until="cannot start", exits=True)
    assert code == 1, said
    assert said.strip().startswith("Runway Studio cannot start: STUDIO_API_KEY looks like a Runway key"), said
    assert "Traceback" not in said and RUNWAY_SHAPED not in said


def test_the_terminal_never_prints_credentials_in_the_providers_address(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"STUDIO_PROVIDER": "runway", "STUDIO_BASE_URL": "https://me:s3cret@gateway.example:8443/runway"},
        space_storage=tmp_path / "none",
    )
    said = settings.startup_message("http://127.0.0.1:7860/")
    assert "Provider: Runway (https://gateway.example:8443/runway)" in said, said
    assert "s3cret" not in said and "me:" not in said


def test_the_terminal_names_the_history_engine_never_its_password(tmp_path: Path) -> None:
    embedded = Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path / "d")}, space_storage=tmp_path / "none")
    said = embedded.startup_message("http://127.0.0.1:7860/")
    assert f"History:  SQLite, {tmp_path / 'd' / 'history.sqlite3'}" in said, said
    shared = Settings.from_env(
        {"STUDIO_DATABASE_URL": "postgresql://studio:s3cret@db.internal:5433/studio?password=s3cret&sslmode=require"},
        space_storage=tmp_path / "none",
    )
    said = shared.startup_message("http://127.0.0.1:7860/")
    assert "History:  PostgreSQL, postgresql://db.internal:5433/studio (shared by replicas)" in said, said
    assert "s3cret" not in said and "studio:" not in said and "s3cret" not in repr(shared)


def test_a_space_believes_its_proxys_forwarded_address_unless_told_otherwise(tmp_path: Path) -> None:
    """Behind a Space's proxy every peer is the proxy: without this, all visitors would share one address's caps."""
    on_space = Settings.from_env({"SPACE_ID": "team/studio"}, space_storage=tmp_path / "none")
    assert "10.0.0.0/8" in on_space.trusted_proxies
    assert "X-Forwarded-For is believed from 10.0.0.0/8" in on_space.startup_message("http://x/")
    told = Settings.from_env(
        {"SPACE_ID": "team/studio", "STUDIO_TRUSTED_PROXIES": "10.1.2.3"}, space_storage=tmp_path / "none"
    )
    assert told.trusted_proxies == ("10.1.2.3",)
    assert Settings.from_env({}, space_storage=tmp_path / "none").trusted_proxies == ()


def test_a_wrong_setting_is_named_without_its_secret_or_credentials(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STUDIO_STORAGE_URL": "s3://AKIAEXAMPLE:s3cretKey@bucket/clips"}, space_storage=tmp_path)
    said = str(refused.value)
    assert "STUDIO_STORAGE_URL" in said and "credentials" in said, said
    assert "s3cretKey" not in said and "AKIAEXAMPLE" not in said, said
