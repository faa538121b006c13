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
    ├── DownloadError                an output could not be fetched or was too large
    └── UploadFailed                 an input could not be uploaded: nothing was created, safe to try again

Messages never contain the API key: nothing here is given one.

Every message is a ``studio.i18n.Message``: a ``Msg`` (a catalog key and its parameters, so ``localized(lang)``, or
``studio.i18n.localize``, says it in the visitor's language) or a plain string (shown as it is in every language).
``str(error)`` is the English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.i18n import Join, Label, Message, Msg, Text, localize


class StudioError(Exception):
    """Base class: ``message`` is what the visitor reads; ``str(err)`` is its English."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message

    @property
    def key(self) -> str | None:
        """The message's catalog key (None: shown in English in every language)."""
        return _key(self.message)

    @property
    def params(self) -> Mapping[str, Any]:
        return _params(self.message)

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English where it has no key)."""
        return localize(self.message, lang)


def _key(message: Message) -> str | None:
    return message.key if isinstance(message, Msg) else None


def _params(message: Message) -> Mapping[str, Any]:
    return message.params if isinstance(message, Msg) else {}


@dataclass(frozen=True, eq=False)
class FieldIssue:
    """One problem with one field: ``field`` is the label a designer sees (e.g. "Ratio").

    Two issues are equal when they name the same field and path and say the same in English.
    """

    field: str
    message: Message
    path: tuple[str | int, ...] = ()  # the wire path, e.g. ("promptImage", 1, "position")

    key = property(lambda self: _key(self.message), doc="The message's catalog key, if it has one.")
    params = property(lambda self: _params(self.message))
    localized = StudioError.localized

    def _identity(self) -> tuple[str, str, tuple[str | int, ...]]:
        return self.field, str(self.message), self.path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldIssue) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())


class InvalidInput(StudioError):
    """Input rejected before anything was sent. ``issues`` lists every problem found."""

    def __init__(self, issues: list[FieldIssue] | FieldIssue) -> None:
        self.issues = [issues] if isinstance(issues, FieldIssue) else list(issues)
        super().__init__(Join([issue.message for issue in self.issues], "sentences"))

    @property
    def key(self) -> str | None:
        return self.issues[0].key if len(self.issues) == 1 else None

    @property
    def params(self) -> Mapping[str, Any]:
        return self.issues[0].params if len(self.issues) == 1 else {}

    def localized(self, lang: str) -> str:
        return " ".join(localize(issue, lang) for issue in self.issues)


class MediaError(InvalidInput):
    """An image or video that cannot be read, is not allowed, or cannot be made to fit the limits."""

    def __init__(self, field: str, message: Message) -> None:
        text: Message = (
            Msg("media.detail", field=Label(field), detail=message)
            if isinstance(message, Text)
            else f"{field}: {message}"
        )
        super().__init__(FieldIssue(field=field, message=text))


class ApiError(StudioError):
    """The provider answered with an error status."""

    def __init__(self, message: Message, *, status: int, issues: list[FieldIssue] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []


class AuthError(ApiError):
    """401: the key is missing, wrong or revoked."""


class RateLimited(ApiError):
    """429: a rate limit or the provider's daily task cap."""

    def __init__(self, message: Message, *, retry_after: float | None = None) -> None:
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
    """An output could not be downloaded: expired link, refused, too large, or not a video.

    ``refused``: the provider answered the link with 401/403/404/410 (expired or not allowed), as opposed to a
    network failure that may pass.
    """

    def __init__(self, message: Message, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class UploadFailed(StudioError):
    """An input could not be uploaded (``POST /v1/uploads`` or the upload itself failed). Nothing was created, so
    trying again is safe."""
