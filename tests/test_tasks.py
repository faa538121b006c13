"""Task parsing (every documented task shape) and failure explanations in plain words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.tasks import (
    Cancelled,
    Failed,
    Pending,
    Running,
    Succeeded,
    Task,
    Throttled,
    event_for,
    explain_failure,
)
from tests.conftest import API_FIXTURES

TASK_FIXTURES = sorted(API_FIXTURES.glob("task_*.json"))


def test_the_fixtures_are_there() -> None:
    assert {p.stem for p in TASK_FIXTURES} >= {"task_failed", "task_running", "task_succeeded", "task_throttled"}


@pytest.mark.parametrize("path", TASK_FIXTURES, ids=[p.stem for p in TASK_FIXTURES])
def test_every_task_fixture_parses(path: Path) -> None:
    raw = json.loads(path.read_text())
    task = Task.model_validate(raw)
    assert task.id == raw["id"]
    assert task.status == raw["status"]
    assert task.created_at == raw["createdAt"]
    assert task.terminal == (raw["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"))
    assert task.progress == raw.get("progress")
    assert task.output == raw.get("output")
    assert task.failure == raw.get("failure")
    assert task.failure_code == raw.get("failureCode")
    # Round trip by alias gives back what the provider sent.
    assert task.model_dump(by_alias=True, exclude_none=True) == raw


def test_fixture_details() -> None:
    running = Task.model_validate_json((API_FIXTURES / "task_running.json").read_text())
    assert running.progress == pytest.approx(0.42)
    succeeded = Task.model_validate_json((API_FIXTURES / "task_succeeded.json").read_text())
    assert succeeded.output and succeeded.output[0].startswith("https://") and ".mp4?" in succeeded.output[0]
    failed = Task.model_validate_json((API_FIXTURES / "task_failed.json").read_text())
    assert failed.failure_code == "INPUT_PREPROCESSING.SAFETY.TEXT"


def test_unknown_fields_are_kept() -> None:
    task = Task.model_validate(
        {"id": "t1", "status": "RUNNING", "createdAt": "2025-01-01T00:00:00Z", "progress": 0.1, "newField": {"a": 1}}
    )
    assert task.model_extra == {"newField": {"a": 1}}
    assert task.model_dump(by_alias=True)["newField"] == {"a": 1}


@pytest.mark.parametrize(
    ("extra", "cost", "estimated"),
    [
        ({"cost": {"credits": 50}}, 50.0, None),
        ({"estimatedCost": {"credits": 25.5}}, None, 25.5),  # an estimate is not a charge
        ({"cost": {"credits": 50}, "estimatedCost": {"credits": 25}}, 50.0, 25.0),
        ({"cost": {"credits": 0}}, 0.0, None),  # refunded
        ({}, None, None),
        ({"cost": "lots"}, None, None),
        ({"cost": {"credits": "50"}}, None, None),
    ],
)
def test_cost_and_estimate_are_read_apart(
    extra: dict[str, object], cost: float | None, estimated: float | None
) -> None:
    task = Task.model_validate({"id": "t", "status": "SUCCEEDED", "output": ["https://x.example.com/a.mp4"]} | extra)
    assert (task.cost, task.estimated_cost) == (cost, estimated)


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        Task.model_validate({"id": "t", "status": "EXPLODED"})


# --- failure families --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "mentions"),
    [
        ("INPUT_PREPROCESSING.SAFETY.TEXT", "prompt"),
        ("SAFETY.INPUT.TEXT", "prompt"),
        ("SAFETY.INPUT.IMAGE", "image"),
        ("INPUT_PREPROCESSING.SAFETY.IMAGE", "image"),
        ("SAFETY.INPUT.VIDEO", "video"),
        ("SAFETY.OUTPUT.VIDEO", "generated video"),
    ],
)
def test_moderation_says_which_input(code: str, mentions: str) -> None:
    reason = explain_failure(code, "did not pass")
    assert reason.family == "moderation"
    assert not reason.retryable
    assert mentions in str(reason.message)
    assert "moderation" in str(reason.message).lower()
    assert "charged" in str(reason.message)  # a moderated task is billed: the visitor must know


def test_moderated_text_does_not_blame_an_image() -> None:
    assert "image" not in str(explain_failure("INPUT_PREPROCESSING.SAFETY.TEXT", None).message)
    assert "prompt" not in str(explain_failure("SAFETY.INPUT.IMAGE", None).message)
    assert "input video" not in str(explain_failure("SAFETY.OUTPUT.VIDEO", None).message)


def test_provider_message_is_shown() -> None:
    reason = explain_failure("INPUT_PREPROCESSING.SAFETY.TEXT", "Text prompt did not pass moderation")
    assert "Text prompt did not pass moderation" in str(reason.message)


def test_asset_invalid_is_an_input_problem() -> None:
    reason = explain_failure("ASSET.INVALID", "Invalid asset dimensions")
    assert reason.family == "invalid_input" and not reason.retryable
    assert "input" in str(reason.message).lower()


@pytest.mark.parametrize("code", ["INTERNAL", "INTERNAL.BAD_OUTPUT.CODE01", "THIRD_PARTY.UNAVAILABLE"])
def test_transient_failures_may_be_retried(code: str) -> None:
    reason = explain_failure(code, None)
    assert reason.family == "transient" and reason.retryable
    assert "try again" in str(reason.message)


@pytest.mark.parametrize("code", ["WEIRD.NEW_CODE", "Quota.Exceeded_v2"])
def test_unknown_code_is_shown_verbatim(code: str) -> None:
    reason = explain_failure(code, "something odd")
    assert reason.family == "unknown" and not reason.retryable
    assert code in str(reason.message)
    assert "something odd" in str(reason.message)


def test_no_code_at_all() -> None:
    reason = explain_failure(None, None)
    assert reason.family == "unknown"
    assert "none given" in str(reason.message)


# --- events -------------------------------------------------------------------------------------------------------


def test_events_for_each_status() -> None:
    def snap(status: str, **extra: object) -> Task:
        return Task.model_validate({"id": "t", "status": status} | extra)

    assert event_for(snap("PENDING"), elapsed_s=1) == Pending("t", 1)
    assert event_for(snap("THROTTLED"), elapsed_s=2) == Throttled("t", 2)
    assert event_for(snap("RUNNING", progress=0.5), elapsed_s=3) == Running("t", 3, 0.5)
    assert event_for(snap("SUCCEEDED", output=["u"], cost={"credits": 25}), elapsed_s=4) == Succeeded(
        "t", 4, ("u",), 25.0
    )
    assert event_for(snap("CANCELLED"), elapsed_s=5) == Cancelled("t", 5)
    failed = event_for(snap("FAILED", failure="nope", failureCode="ASSET.INVALID"), elapsed_s=6)
    assert isinstance(failed, Failed)
    assert (
        failed.code == "ASSET.INVALID" and failed.reason.family == "invalid_input" and failed.provider_message == "nope"
    )
