"""What a Hugging Face Space needs: front matter matching the pinned Gradio, and requirements.txt equal to
pyproject.toml's dependencies, so the Space installs exactly what the tests ran with."""

from __future__ import annotations

import re

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

from tests.conftest import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README must open with the Space's YAML front matter"
    block = text.split("---\n", 2)[1]
    return {
        k.strip(): v.strip().strip('"') for k, v in (line.split(":", 1) for line in block.splitlines() if ":" in line)
    }


def test_requirements_txt_installs_exactly_what_pyproject_does() -> None:
    assert sorted(_requirements()) == sorted(_pyproject()["project"]["dependencies"])


def test_front_matter_names_the_pinned_gradio_and_the_entry_point() -> None:
    meta = _front_matter()
    gradio = next(d for d in _pyproject()["project"]["dependencies"] if re.match(r"gradio(\[|=)", d))
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == gradio.split("==")[1]
    assert meta["python_version"].startswith("3.")


def test_a_space_without_oauth_builds_and_warns_about_temporary_history(tmp_path) -> None:
    """SPACE_ID alone (no hf_oauth): no sign-in button (Gradio would demand a local HF login and fail to start),
    and a visible warning that history is on the Space's temporary disk."""
    from pathlib import Path

    from studio.settings import Settings
    from studio.ui.app import assemble

    settings = Settings.from_env(
        {"SPACE_ID": "me/studio", "STUDIO_DATA_DIR": str(tmp_path)}, space_storage=Path("/nonexistent")
    )
    _, demo = assemble(settings)
    components = demo.get_config_file()["components"]
    assert not any(c["type"] == "loginbutton" for c in components)
    assert any(c.get("props", {}).get("elem_id") == "storage_warning" for c in components)
