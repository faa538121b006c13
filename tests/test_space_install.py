"""A Hugging Face Space installs requirements.txt and runs app.py: do exactly that in a fresh virtual environment
and get the page served (on the simulator, no key)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.app


def test_a_fresh_venv_from_requirements_txt_serves_the_page(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "RUNWAYML_", "PYTHONPATH"))}
    env |= {
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
    }
    app = subprocess.Popen(
        [str(python), "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        page = _wait_for_page(f"http://127.0.0.1:{port}/", app, timeout_s=120)
        assert "<title>Runway Studio</title>" in page or "Runway Studio" in page
        config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=10).json()
        english = (config.get("i18n_translations") or {}).get("en", {})
        labels = {_in_english(c.get("props", {}).get("label"), english) for c in config["components"]}
        assert {"Image to Video", "Video to Video", "Character Performance", "History"} <= labels
        assert {"en", "zh-CN"} <= set(config.get("i18n_translations") or {})  # the page offers both languages
    finally:
        app.kill()
        app.wait(timeout=10)
    assert sys.prefix != str(env_dir)  # the studio ran in the fresh venv, not this one


def _in_english(label: object, english: dict[str, str]) -> object:
    """A label as the English page shows it: labels are translation keys (``gr.I18n``), which the config writes as
    ``__i18n__{"__type__": "translation_metadata", "key": ...}`` for the browser to look up."""
    if not isinstance(label, str):
        return label
    return re.sub(r"__i18n__(\{[^}]*\})", lambda m: english.get(json.loads(m.group(1))["key"], m.group(0)), label)


def _wait_for_page(url: str, app: subprocess.Popen[str], *, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if app.poll() is not None:
            pytest.fail(f"app.py exited with {app.returncode}: {app.stdout.read()[-3000:] if app.stdout else ''}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.text
        except httpx.TransportError:
            pass
        time.sleep(0.5)  # a real process starting up: there is no clock to inject
    pytest.fail(f"no page at {url} within {timeout_s} s")
