"""Bad calls get plain answers: an API caller (gradio_client, or a script posting to the queue) that sends an unknown
provider, a History tile event without its data or with data of the wrong shape gets a message that names the field
and says what is allowed, never Python's own words."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.appclient import args_for
from tests.conftest import ASSETS, LaunchedStudio

pytestmark = pytest.mark.app

PROVIDERS = "simulator, simulator-runway, openai-hk, runway"
PYTHON_WORDS = ("NoneType", "Traceback", "didn't return enough output values", "not subscriptable", "<class", "Error:")


@pytest.fixture(scope="module")
def client(launched: LaunchedStudio) -> Client:
    return Client(launched.url, verbose=False)


def assert_plain(message: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} missing from: {message}"
    for word in PYTHON_WORDS:
        assert word not in message, f"Python's own words reach the caller: {message}"


def refusal(call: Any) -> str:
    with pytest.raises(AppError) as caught:
        call()
    return str(caught.value)


def test_an_unknown_provider_on_generate_names_the_field(client: Client, launched: LaunchedStudio) -> None:
    before = launched.created
    fields = {"provider": "nope", "first_frame": handle_file(str(ASSETS / "paper_boats.png")), "ratio": "960:960"}
    api = "/generate_image_to_video"
    message = refusal(lambda: client.predict(*args_for(client, api, **fields), api_name=api))
    assert_plain(message, "Provider: 'nope' is not known.", f"Use one of: {PROVIDERS}.")
    assert launched.created == before


def test_an_unknown_provider_in_settings_names_the_field(client: Client) -> None:
    message = refusal(lambda: client.predict("runway-gen9", None, api_name="/on_provider"))
    assert_plain(message, "Provider: 'runway-gen9' is not known.", PROVIDERS)


@pytest.mark.parametrize(
    ("label", "value", "phrases"),
    [
        (
            "status",
            "bogus",
            ("Status: 'bogus' is not known.", "Use one of: all, running, succeeded, failed, cancelled."),
        ),
        ("tab", "images", ("Tab: 'images' is not known.", "image_to_video")),
    ],
)
def test_an_unknown_history_filter_names_the_field(
    client: Client, label: str, value: str, phrases: tuple[str, ...]
) -> None:
    message = refusal(lambda: client.predict(*args_for(client, "/history", **{label: value}), api_name="/history"))
    assert_plain(message, *phrases)


# --- History's tile events: private endpoints, but anyone can post to the queue ----------------------------------


def queue_call(
    launched: LaunchedStudio, handler: str, event_data: Any, *, values: dict[int, Any] | None = None
) -> dict[str, Any]:
    """Call the (first) event handled by ``handler`` as a script would, with ``event_data`` and every input empty
    but ``values`` (by component id); the queue's final message."""
    fn_index = next(i for i, fn in launched.demo.fns.items() if getattr(fn.fn, "__name__", "") == handler)
    inputs = launched.demo.config["dependencies"][fn_index]["inputs"]
    data = [(values or {}).get(component) for component in inputs]
    session = uuid.uuid4().hex
    body = {"data": data, "event_data": event_data, "fn_index": fn_index, "session_hash": session}
    joined = httpx.post(launched.url + "gradio_api/queue/join", json=body, timeout=30)
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", launched.url + f"gradio_api/queue/data?session_hash={session}", timeout=30) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return message
    raise AssertionError("the queue never completed the call")


@pytest.mark.parametrize(
    ("handler", "event_data", "phrases"),
    [
        ("pick", None, ('"id" must be the id of one of your generations', "it was missing")),
        ("pick", {"id": 3}, ('"id" must be the id of one of your generations', "it was 3")),
        ("star", {}, ('"id" must be',)),
        ("star", {"id": "x", "on": "yes"}, ('"on" must be true or false', "'yes'")),
        ("mark", None, ('"id" must be',)),
        ("mark", {"id": "x", "shown": 5}, ('"shown" must be a list of generation ids', "it was 5")),
        ("mark", {"id": "x", "checked": [None]}, ('"checked" must be a list of generation ids',)),
    ],
)
def test_a_history_tile_event_with_bad_data_gets_a_plain_answer(
    launched: LaunchedStudio, handler: str, event_data: Any, phrases: tuple[str, ...]
) -> None:
    done = queue_call(launched, handler, event_data)
    assert not done.get("success"), done
    message = str(done["output"].get("error"))
    assert_plain(message, "History tile event:", *phrases)


def test_a_history_tile_event_for_someone_elses_id_shows_nothing(launched: LaunchedStudio) -> None:
    done = queue_call(launched, "pick", {"id": "not-yours"})
    assert done.get("success"), done  # an id from elsewhere finds nothing: the details stay closed, no error


def test_a_take_that_does_not_exist_names_the_field(launched: LaunchedStudio) -> None:
    take = next(b._id for b in launched.demo.blocks.values() if getattr(b, "elem_id", None) == "i2v_take")
    done = queue_call(launched, "on_take", None, values={take: 7})
    assert not done.get("success"), done
    assert_plain(str(done["output"].get("error")), "Take: 7 is not known.", "Use one of: 0, 1, 2, 3.")
