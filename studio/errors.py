"""The studio's errors. Each one carries a message a designer can act on; the UI shows ``str(error)``.

::

    StudioError                      anything the studio reports to the visitor
    ├── InvalidInput                 rejected locally, before any API call; names the field(s)
    │   └── MediaError               an image or video that cannot be used or made to fit
    ├── ApiError                     the provider answered with an error status
    │   ├── AuthError                401: the key is missing or wrong
    │   ├── RateLimited              429: a rate limit or the daily cap (retry_after when given)
    │   └── ProviderUnavailable      5xx or the network failed, after retries
    ├── TaskMayExist                 a create call failed after it may have reached the server: not re-sent
    ├── TaskNotFound                 the task id is unknown to the provider
    ├── TaskTimedOut                 the task did not finish within the allowed running time
    └── DownloadError                an output could not be fetched or was too large

Messages never contain the API key: nothing here is given one.
"""

from __future__ import annotations

from dataclasses import dataclass


class StudioError(Exception):
    """Base class: ``str(err)`` is the plain message for the visitor."""


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field: ``field`` is the label a designer sees (e.g. "Ratio")."""

    field: str
    message: str
    path: tuple[str | int, ...] = ()  # the wire path, e.g. ("promptImage", 1, "position")


class InvalidInput(StudioError):
    """Input rejected before anything was sent. ``issues`` lists every problem found."""

    def __init__(self, issues: list[FieldIssue] | FieldIssue) -> None:
        self.issues = [issues] if isinstance(issues, FieldIssue) else list(issues)
        super().__init__(" ".join(issue.message for issue in self.issues))


class MediaError(InvalidInput):
    """An image or video that cannot be read, is not allowed, or cannot be made to fit the limits."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(FieldIssue(field=field, message=f"{field}: {message}"))


class ApiError(StudioError):
    """The provider answered with an error status."""

    def __init__(self, message: str, *, status: int, issues: list[FieldIssue] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []


class AuthError(ApiError):
    """401: the key is missing, wrong or revoked."""


class RateLimited(ApiError):
    """429: a rate limit or the provider's daily task cap."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class ProviderUnavailable(ApiError):
    """The provider could not be reached or kept failing (5xx), after retries."""


class TaskMayExist(StudioError):
    """A create call failed after the request may have reached the provider. It was not sent again."""


class TaskNotFound(StudioError):
    """The provider does not know this task id (after the grace period for fresh ids)."""


class TaskTimedOut(StudioError):
    """The task kept running past the allowed time; it may still finish on the provider."""


class DownloadError(StudioError):
    """An output could not be downloaded: expired link, refused, too large, or not a video."""
