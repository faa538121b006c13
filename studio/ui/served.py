"""The links a page gives its visitor to their own files: the studio's signed route (``studio.links``), never
Gradio's cache. HTML links are relative to the page; component values carry the absolute URL, which Gradio passes
to the browser (and to API callers) untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from studio.links import FileLinks
from studio.ui import gradio_compat


class Served:
    """Makes the links of one request: ``file`` for a component's value, ``href`` for the page's HTML."""

    def __init__(self, links: FileLinks, request: gr.Request | None) -> None:
        self._links = links
        self._request = request

    def href(self, path: str | None) -> str:
        return (self._links.href(path) or "") if path else ""

    def file(self, path: str | None) -> Any:
        link = self.href(path)
        if not link or self._request is None:
            return None
        url = f"{gradio_compat.root_url(self._request)}/{link}"
        return gradio_compat.served_file(url, name=Path(str(path)).name)
