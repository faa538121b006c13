"""Static page text in the browser's language: the ``ui.*`` keys of the catalogs, given to Gradio's ``gr.I18n``.

``UI("ui.generate")`` wherever a label or value is written; the browser shows it in its language. Text fixed when
the page is built but made of parameters (the first cost line, a note) goes through ``page_text``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import gradio as gr

from studio.i18n import CATALOG, DEFAULT, LANGUAGES
from studio.ui import gradio_compat

UI = gr.I18n(**{lang: {k: v for k, v in table.items() if k.startswith("ui.")} for lang, table in CATALOG.items()})


def page_text(render: Callable[[str], str]) -> Any:
    """Text fixed when the page is built but made of parameters (a cost line, a note): rendered now in every
    language and registered with ``UI`` under a key made from its content. Returns what to give a component."""
    texts = {lang: render(lang) for lang in LANGUAGES}
    if not texts[DEFAULT]:
        return ""
    key = "ui.built." + hashlib.sha1("\x00".join(texts[lang] for lang in LANGUAGES).encode()).hexdigest()[:16]
    for lang, text in texts.items():
        gradio_compat.add_translation(UI, lang, key, text)
    return UI(key)


def english_of(key: str) -> str:
    """The English text of a page key (a catalog key, or one ``page_text`` made)."""
    return CATALOG[DEFAULT].get(key) or gradio_compat.translation(UI, DEFAULT, key) or key
