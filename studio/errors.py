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

Every message is English as ``str``; given as a ``studio.i18n.Msg`` it also carries its catalog key and parameters
(``key``/``params``), so ``localized(lang)`` (or ``studio.i18n.localize``) says it in the visitor's language.
A message given as a plain string has no key and is shown in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from studio.i18n import Join, Label, Msg, Text, localize, t


class StudioError(Exception):
    """Base class: ``str(err)`` is the plain message for the visitor (English)."""

    @property
    def key(self) -> str | None:
        """The message's catalog key (None: shown in English in every language)."""
        first = self.args[0] if self.args else None
        return first.key if isinstance(first, Msg) else None

    @property
    def params(self) -> Mapping[str, Any]:
        first = self.args[0] if self.args else None
        return first.params if isinstance(first, Msg) else {}

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English where it has no key)."""
        first = self.args[0] if self.args else None
        return first.render(lang) if isinstance(first, Text) else str(self)


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field: ``field`` is the label a designer sees (e.g. "Ratio").

    ``message`` is the English text; ``key`` and ``params`` say it in another language (taken from ``message``
    when it is a ``Msg``). They take no part in equality.
    """

    field: str
    message: str
    path: tuple[str | int, ...] = ()  # the wire path, e.g. ("promptImage", 1, "position")
    key: str | None = dataclass_field(default=None, compare=False)
    params: Mapping[str, object] = dataclass_field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.key is None and isinstance(self.message, Msg):
            object.__setattr__(self, "key", self.message.key)
            object.__setattr__(self, "params", dict(self.message.params))

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English where it has no key)."""
        return t(lang, self.key, **self.params) if self.key else str(self.message)


class InvalidInput(StudioError):
    """Input rejected before anything was sent. ``issues`` lists every problem found."""

    def __init__(self, issues: list[FieldIssue] | FieldIssue) -> None:
        self.issues = [issues] if isinstance(issues, FieldIssue) else list(issues)
        super().__init__(Join([_text_of(issue) for issue in self.issues], "sentences"))

    @property
    def key(self) -> str | None:
        return self.issues[0].key if len(self.issues) == 1 else None

    @property
    def params(self) -> Mapping[str, Any]:
        return self.issues[0].params if len(self.issues) == 1 else {}

    def localized(self, lang: str) -> str:
        return " ".join(localize(issue, lang) for issue in self.issues)


def _text_of(issue: FieldIssue) -> str:
    if issue.key and not isinstance(issue.message, Text):
        return Msg(issue.key, **issue.params)
    return issue.message


class MediaError(InvalidInput):
    """An image or video that cannot be read, is not allowed, or cannot be made to fit the limits."""

    def __init__(self, field: str, message: str) -> None:
        text = (
            Msg("media.detail", field=Label(field), detail=message)
            if isinstance(message, Text)
            else f"{field}: {message}"
        )
        super().__init__(FieldIssue(field=field, message=text))


class ApiError(StudioError):
    """The provider answered with an error status."""

    def __init__(
        self, message: str, *, status: int, issues: list[FieldIssue] | None = None
    ) -> None:  # message: str or Msg
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
    """An output could not be downloaded: expired link, refused, too large, or not a video.

    ``refused``: the provider answered the link with 401/403/404/410 (expired or not allowed), as opposed to a
    network failure that may pass.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused
