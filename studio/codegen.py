"""Copy as code: the exact request a generation sent, as curl and as Python (httpx).

The key is never written: both read ``$STUDIO_API_KEY`` from the environment. Data URIs (the uploaded files,
often megabytes) are replaced by a note saying what stood there.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from studio.capabilities import API_PREFIX, API_VERSION
from studio.uris import UPLOAD_PLACEHOLDER, data_uri_mime, human_bytes

KEY_VARIABLE = "STUDIO_API_KEY"


def elide_data_uris(value: Any) -> Any:
    """A copy of a wire body with every data URI replaced by a short note."""
    if isinstance(value, dict):
        return {k: elide_data_uris(v) for k, v in value.items()}
    if isinstance(value, list):
        return [elide_data_uris(v) for v in value]
    if isinstance(value, str) and value.startswith(UPLOAD_PLACEHOLDER):
        return "<a runway:// URI: upload the file with POST /v1/uploads first (it is too big for a data URI)>"
    if isinstance(value, str) and value.startswith("data:"):
        kind = data_uri_mime(value) or "data"
        return f"<{kind} data URI, {human_bytes(len(value))}: put your file's data URI or an https URL here>"
    return value


@dataclass(frozen=True)
class CodeSnippets:
    """The request a generation sent, as the page offers to copy it."""

    curl: str
    python: str


def snippets(*, base_url: str, endpoint: str, body: dict[str, Any]) -> CodeSnippets:
    return CodeSnippets(
        as_curl(base_url=base_url, endpoint=endpoint, body=body),
        as_python(base_url=base_url, endpoint=endpoint, body=body),
    )


def as_curl(*, base_url: str, endpoint: str, body: dict[str, Any]) -> str:
    """A curl command that sends ``body`` to ``endpoint``."""
    payload = json.dumps(elide_data_uris(body), indent=2, ensure_ascii=False)
    url = f"{base_url.rstrip('/')}{API_PREFIX}/{endpoint}"
    return "\n".join(
        [
            f"curl -X POST {shlex.quote(url)} \\",
            f'  -H "Authorization: Bearer ${KEY_VARIABLE}" \\',
            f'  -H "X-Runway-Version: {API_VERSION}" \\',
            '  -H "Content-Type: application/json" \\',
            f"  -d {shlex.quote(payload)}",
        ]
    )


def as_python(*, base_url: str, endpoint: str, body: dict[str, Any]) -> str:
    """A Python (httpx) snippet that sends ``body`` and polls the task to its end."""
    payload = _python_literal(elide_data_uris(body))
    return f'''import os, time
import httpx

BASE = "{base_url.rstrip("/")}{API_PREFIX}"
HEADERS = {{
    "Authorization": f"Bearer {{os.environ['{KEY_VARIABLE}']}}",
    "X-Runway-Version": "{API_VERSION}",
}}
body = {payload}

with httpx.Client(base_url=BASE, headers=HEADERS, timeout=60) as http:
    task_id = http.post("/{endpoint}", json=body).raise_for_status().json()["id"]
    while True:
        task = http.get(f"/tasks/{{task_id}}").raise_for_status().json()
        if task["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(5)
print(task)
'''


def _python_literal(value: Any, depth: int = 0) -> str:
    """``value`` as readable Python source, indented four spaces a level (json.dumps layout, Python literals)."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{k!r}: {_python_literal(v, depth + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = [f"{inner}{_python_literal(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    return repr(value)
