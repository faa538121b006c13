"""Copy as code: the exact request, runnable, with the key read from the environment and uploads elided."""

from __future__ import annotations

import ast
import json
import shlex

from studio.codegen import as_curl, as_python, elide_data_uris

BODY = {
    "model": "gen4_turbo",
    "promptText": 'it\'s "true" or null, 🌊',
    "ratio": "720:1280",
    "duration": 5,
    "watermark": False,
    "promptImage": [{"uri": "data:image/jpeg;base64," + "A" * 40_000, "position": "first"}],
}


def test_curl_sends_the_exact_body_with_the_key_from_the_environment() -> None:
    command = as_curl(base_url="https://api.openai-hk.com/runwayml/", endpoint="image_to_video", body=BODY)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == ["curl", "-X", "POST", "https://api.openai-hk.com/runwayml/v1/image_to_video"]
    assert "Authorization: Bearer $STUDIO_API_KEY" in words and "X-Runway-Version: 2024-11-06" in words
    sent = json.loads(words[words.index("-d") + 1])
    assert sent == elide_data_uris(BODY)
    assert sent["promptImage"][0]["uri"].startswith("<image/jpeg data URI, 39 KiB")
    assert "AAAA" not in command


def test_python_is_valid_and_builds_the_same_body() -> None:
    source = as_python(base_url="http://127.0.0.1:8787", endpoint="image_to_video", body=BODY)
    tree = ast.parse(source)
    body = next(
        n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "body"
    )
    assert ast.literal_eval(body) == elide_data_uris(BODY)
    assert "os.environ['STUDIO_API_KEY']" in source and 'BASE = "http://127.0.0.1:8787/v1"' in source
