"""The task as the API returns it, and the typed events the client's ``wait`` yields.

Parsing is lenient (unknown fields are kept, newer responses add ``cost``/``estimatedCost``) so a provider that
adds fields never breaks the studio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.i18n import Message, Msg

Status = Literal["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
TERMINAL: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class Task(BaseModel):
    """``GET /v1/tasks/{id}`` as documented; extra fields are accepted and kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    status: Status
    created_at: str | None = Field(None, alias="createdAt")
    progress: float | None = None
    output: list[str] | None = None
    failure: str | None = None
    failure_code: str | None = Field(None, alias="failureCode")

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def cost(self) -> float | None:
        """Credits charged, once the task is over (``cost``; 0 means refunded), when the provider says."""
        return self._credits("cost")

    @property
    def estimated_cost(self) -> float | None:
        """Credits the provider expects to charge (``estimatedCost``), while the task is live."""
        return self._credits("estimatedCost")

    def _credits(self, key: str) -> float | None:
        value: Any = (self.model_extra or {}).get(key)
        if isinstance(value, dict) and isinstance(value.get("credits"), (int, float)):
            return float(value["credits"])
        return None


FailureFamily = Literal["moderation", "invalid_input", "transient", "unknown"]

_MODERATION_INPUTS = {"TEXT": "failure.where_text", "IMAGE": "failure.where_image", "VIDEO": "failure.where_video"}


@dataclass(frozen=True)
class FailureReason:
    family: FailureFamily
    message: Message  # plain words for the visitor: what happened and what to do (a Msg: English as a str)
    retryable: bool


def explain_failure(code: str | None, failure: str | None) -> FailureReason:
    """Turn a failure code into a plain reason (runway-api.md, "Failure codes")."""
    given = (code or "").strip()
    code = given.upper()
    detail = Msg("failure.said", failure=failure) if failure else ""
    if code.startswith(("SAFETY.", "INPUT_PREPROCESSING.SAFETY")):
        what = next((name for key, name in _MODERATION_INPUTS.items() if key in code.split(".")), "failure.where_input")
        where = Msg("failure.where_output" if code.startswith("SAFETY.OUTPUT") else what)
        return FailureReason("moderation", Msg("failure.moderated", where=where, detail=detail), retryable=False)
    if code.startswith(("ASSET.INVALID", "THIRD_PARTY.INPUT_VALIDATION")):
        return FailureReason("invalid_input", Msg("failure.invalid_input", detail=detail), False)
    if code.startswith(("INTERNAL", "INPUT_PREPROCESSING.INTERNAL", "THIRD_PARTY.UNAVAILABLE")):
        return FailureReason("transient", Msg("failure.transient", detail=detail), True)
    shown = given or Msg("failure.no_code")  # verbatim, so it matches the provider's dashboard and docs
    return FailureReason("unknown", Msg("failure.unknown", code=shown, detail=detail), False)


@dataclass(frozen=True)
class Pending:
    task_id: str
    elapsed_s: float


@dataclass(frozen=True)
class Throttled:
    """Over the account's concurrency: queued by the provider, not rejected."""

    task_id: str
    elapsed_s: float


@dataclass(frozen=True)
class Running:
    task_id: str
    elapsed_s: float
    progress: float | None  # 0..1 as the provider reports it; None when it gives none


@dataclass(frozen=True)
class Succeeded:
    task_id: str
    elapsed_s: float
    outputs: tuple[str, ...]
    credits: float | None = None


@dataclass(frozen=True)
class Failed:
    task_id: str
    elapsed_s: float
    code: str | None
    reason: FailureReason
    provider_message: str | None = None
    credits: float | None = None  # charged all the same (moderation) or refunded (0)


@dataclass(frozen=True)
class Cancelled:
    task_id: str
    elapsed_s: float
    credits: float | None = None


TaskEvent = Pending | Throttled | Running | Succeeded | Failed | Cancelled


@dataclass(frozen=True)
class Unreachable:
    """A read of the task failed even after its retries (5xx, unreadable answers, resets, timeouts). The task may
    still be running and billing: the wait goes on."""

    task_id: str
    elapsed_s: float
    problem: Message


def event_for(task: Task, *, elapsed_s: float) -> TaskEvent:
    """The event a task snapshot stands for."""
    if task.status == "PENDING":
        return Pending(task.id, elapsed_s)
    if task.status == "THROTTLED":
        return Throttled(task.id, elapsed_s)
    if task.status == "RUNNING":
        return Running(task.id, elapsed_s, task.progress)
    if task.status == "SUCCEEDED":
        return Succeeded(task.id, elapsed_s, tuple(task.output or ()), task.cost)
    if task.status == "FAILED":
        reason = explain_failure(task.failure_code, task.failure)
        return Failed(task.id, elapsed_s, task.failure_code, reason, task.failure, task.cost)
    return Cancelled(task.id, elapsed_s, task.cost)
