"""The page's stylesheets (``*.css``) and scripts (``*.js``) in this folder, read once: each area of the page keeps
its own file (``studio.css`` for the generation tabs, ``history.css`` for History...), given to Gradio as one
stylesheet and one ``<script>`` in the page's head, in the order of their names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Assets:
    css: str
    head: str


def _read(folder: Path = FOLDER) -> Assets:
    css = "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.css")))
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.js")))
    return Assets(css=css, head=f"<script>\n{scripts}</script>" if scripts else "")


ASSETS = _read()
