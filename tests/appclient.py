"""Driving the launched studio through gradio_client: arguments by the controls' labels, and reading a stream."""

from __future__ import annotations

import re
from typing import Any

from gradio_client import Client, handle_file
from gradio_client.client import Job

I2V = "/generate_image_to_video"


def args_for(client: Client, api_name: str, **by_label: Any) -> list[Any]:
    """Positional arguments for an endpoint, given by the controls' labels (a prefix of the label will do)."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]
    labels = [param["label"].lower() for param in info["parameters"]]
    wanted = {k.replace("_", " ").lower(): v for k, v in by_label.items()}
    owner = {key: key if key in labels else next(label for label in labels if label.startswith(key)) for key in wanted}
    values = []
    for param, label in zip(info["parameters"], labels):
        key = next((k for k, owned in owner.items() if owned == label), None)
        values.append(wanted[key] if key is not None else param.get("parameter_default"))
    return values


def submit_paper_boats(client: Client, **by_label: Any) -> Job:
    """Start Image to Video from the bundled paper boats at 960:960; ``by_label`` sets more controls (or these)."""
    from tests.conftest import ASSETS  # here, not above: bench/harness imports this module without pytest's setup

    fields = {"first_frame": handle_file(str(ASSETS / "paper_boats.png")), "ratio": "960:960"} | by_label
    return client.submit(*args_for(client, I2V, **fields), api_name=I2V)


def phases(outputs: list[Any]) -> list[tuple[str, str]]:
    """(phase, percent) for each status the stream showed, in order, without repeats."""
    seen: list[tuple[str, str]] = []
    for out in outputs:
        html = value(out, 0) or ""
        match = re.search(r'data-phase="(\w+)" data-progress="(\d*)"', html)
        if match and (not seen or seen[-1] != match.groups()):
            seen.append(match.groups())
    return seen


def value(output: Any, index: int) -> Any:
    """One output of a streamed update; None where that update left it unchanged."""
    item = output[index] if isinstance(output, (list, tuple)) else output
    return None if isinstance(item, dict) and item.get("__type__") == "update" else item


def latest(outputs: list[Any], index: int) -> Any:
    """The last value an output took during the stream."""
    return next((value(o, index) for o in reversed(outputs) if value(o, index) is not None), None)
