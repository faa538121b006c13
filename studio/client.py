"""The async client for the Runway API (and anything that speaks it: the proxy, the simulator).

One shared ``httpx.AsyncClient``; ``transport=`` is the seam (the network, the simulator in-process through
``httpx.ASGITransport``, or ``httpx.MockTransport`` in tests). The API key is passed to every call and only
ever lands in that request's ``Authorization`` header: never on the shared client, never in a message.

Retries: reads (GET, DELETE) retry with exponential backoff and jitter on connection errors, 429 (honouring
``Retry-After``) and 502/503/504. A task read (``GET /v1/tasks/{id}``) is idempotent and the only way to learn how a
billed task ended, so it is also retried on every other 5xx (500 included) and on an answer that cannot be read as a
task (bad JSON, a missing or unknown status); ``wait`` then keeps following through longer outages (``Unreachable``).

A create call is retried only when it certainly did not reach the server
(the connection was never made) or was refused by a short rate limit; once the request may have arrived
(timeouts, resets after sending, 5xx) it is never re-sent, because the provider sends no idempotency key and a
second call would bill a second task.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import httpx

from studio import __version__
from studio.capabilities import API_PREFIX, API_VERSION, ProviderSpec
from studio.errors import (
    ApiError,
    AuthError,
    DownloadError,
    FieldIssue,
    ProviderUnavailable,
    RateLimited,
    TaskMayExist,
    TaskNotFound,
    TaskTimedOut,
    UploadFailed,
)
from studio.i18n import Join, Label, Message, Msg
from studio.requests import LABELS, Request
from studio.tasks import Task, TaskEvent, Throttled, Unreachable, event_for
from studio.uris import human_bytes

USER_AGENT = f"runway-studio/{__version__} (+https://github.com/runway-studio)"
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
LOST_CONTACT_POLL_CAP_S = 60.0  # while a task cannot be read, ``wait`` asks again at most this far apart
DAILY_CAP_HINT = "daily"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)  # as the official SDK's
UPLOAD_TIMEOUT = httpx.Timeout(60.0, connect=5.0, write=600.0)  # up to 200 MB to send

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``min(cap, base * 2**n) * (1 + jitter * random())``."""

    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 8.0
    jitter: float = 0.5
    max_retry_after_s: float = 60.0
    create_rate_limit_retries: int = 2  # a 429 on create that is not the daily cap, with a short Retry-After

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        return min(self.cap_s, self.base_s * 2**attempt) * (1 + self.jitter * rng())


@dataclass(frozen=True)
class Created:
    task_id: str
    estimated_credits: float | None = None


@dataclass(frozen=True)
class ModelLimits:
    """One model's share of an account's tier (None: no limit)."""

    max_daily: int | None
    max_concurrent: int | None
    used_today: int


@dataclass(frozen=True)
class Organization:
    """``GET /v1/organization``: the credit balance and each model's daily limits for the key in use."""

    credit_balance: int
    models: Mapping[str, ModelLimits]


Progress = Callable[[float], None]  # the fraction done, 0 to 1


class RunwayClient:
    """Create, poll, cancel and download Runway tasks. Safe to share between visitors: it holds no key."""

    def __init__(
        self,
        *,
        provider: ProviderSpec,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: Callable[[], float] = random.random,
        retry: RetryPolicy = RetryPolicy(),
        poll_interval_s: float | None = None,
        poll_jitter: float = 0.2,
        fresh_task_grace_s: float = 15.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 200,
    ) -> None:
        self.provider = provider
        self._sleep, self._clock, self._rng = sleep, clock, rng
        self._retry = retry
        self.poll_interval_s = provider.poll_interval_s if poll_interval_s is None else poll_interval_s
        self._poll_jitter = poll_jitter
        self._grace_s = fresh_task_grace_s
        root = (base_url or provider.base_url).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=root + API_PREFIX,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "X-Runway-Version": API_VERSION},
            # An idle connection is dropped well before servers drop it (uvicorn: 5 s): reusing one just as the server
            # closes it fails after the request was sent, and a create can then never be safely re-sent.
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=50, keepalive_expiry=2.0),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- create --------------------------------------------------------------------------------------------

    async def create(self, request: Request, *, key: str, uploaded: Mapping[str, str] | None = None) -> Created:
        """Send a validated request. Never re-sent once it may have reached the server (see module doc).

        ``uploaded``: the ``runway://`` URI of each input the request holds a placeholder for (by placeholder)."""
        body = _substituted(request.to_wire(), uploaded or {})
        rate_limit_retries = 0
        for attempt in range(self._retry.attempts):
            try:
                response = await self._http.post(f"/{request.endpoint}", json=body, headers=_auth(key))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                if attempt + 1 == self._retry.attempts:
                    raise ProviderUnavailable(Msg("client.cannot_connect", provider=self._label), status=0) from None
                await self._sleep(self._retry.delay(attempt, self._rng))
                continue
            except httpx.TransportError as err:
                raise TaskMayExist(
                    _may_exist(Msg("client.why_connection_after_send", error=type(err).__name__))
                ) from None
            if response.status_code == 429 and rate_limit_retries < self._retry.create_rate_limit_retries:
                wait = self._short_retry_after(response)
                if wait is not None:
                    rate_limit_retries += 1
                    await self._sleep(wait)
                    continue
            return self._created(response)
        raise ProviderUnavailable(Msg("client.kept_refusing", provider=self._label), status=0)

    def _short_retry_after(self, response: httpx.Response) -> float | None:
        """The Retry-After of a rate limit worth waiting for; None for the daily cap or a long wait."""
        if DAILY_CAP_HINT in _error_text(response).lower():
            return None
        wait = _retry_after(response)
        return wait if wait is not None and wait <= 10 else None

    def _created(self, response: httpx.Response) -> Created:
        if response.status_code >= 500:
            raise TaskMayExist(
                _may_exist(Msg("client.why_server_error", provider=self._label, status=response.status_code))
            )
        if response.status_code >= 400:
            raise self._api_error(response)
        try:
            data = response.json()
            task_id = str(data["id"])
        except (ValueError, KeyError, TypeError):
            raise TaskMayExist(_may_exist(Msg("client.why_unreadable"))) from None
        cost = data.get("estimatedCost") if isinstance(data, dict) else None
        credits = cost.get("credits") if isinstance(cost, dict) else None
        return Created(task_id, float(credits) if isinstance(credits, (int, float)) else None)

    # --- uploads and the account ---------------------------------------------------------------------------

    async def upload(self, path: Path, *, key: str, on_progress: Progress | None = None) -> str:
        """Upload ``path`` as an ephemeral input and return its ``runway://`` URI (valid 24 h).

        Two steps, as the official SDK's ``uploads.create_ephemeral``: ``POST /v1/uploads`` names the file and
        answers where to send it; then a multipart POST of the answer's ``fields`` and the ``file`` goes to that
        ``uploadUrl``, with no Authorization header (it is signed). Raises UploadFailed: nothing was created.
        """
        response = await self._with_retries(
            "POST", "/uploads", key=key, json={"filename": Path(path).name, "type": "ephemeral"}
        )
        if response.status_code >= 400:
            raise UploadFailed(
                Msg("client.upload_refused", provider=self._label, detail=self._api_error(response).message)
            )
        try:
            started = response.json()
            upload_url, fields, runway_uri = (
                str(started["uploadUrl"]),
                dict(started["fields"]),
                str(started["runwayUri"]),
            )
        except (ValueError, KeyError, TypeError):
            raise UploadFailed(Msg("client.upload_unreadable", provider=self._label)) from None
        with _Counted(Path(path), on_progress) as counted:
            file = cast(IO[bytes], counted)  # a file as far as httpx's multipart is concerned
            try:
                sent = await self._http.post(
                    upload_url, data=fields, files={"file": (Path(path).name, file)}, timeout=UPLOAD_TIMEOUT
                )
            except httpx.TransportError as err:
                raise UploadFailed(Msg("client.upload_interrupted", error=type(err).__name__)) from None
        if sent.status_code >= 400:
            raise UploadFailed(Msg("client.upload_rejected", status=sent.status_code))
        return runway_uri

    async def organization(self, *, key: str) -> Organization:
        """The account's credit balance and tier limits (official API only)."""
        response = await self._with_retries("GET", "/organization", key=key)
        if response.status_code >= 400:
            raise self._api_error(response)
        try:
            data = response.json()
            tier, usage = data["tier"].get("models", {}), data.get("usage", {}).get("models", {})
            models = {
                name: ModelLimits(
                    max_daily=limits.get("maxDailyGenerations"),
                    max_concurrent=limits.get("maxConcurrentGenerations"),
                    used_today=int(usage.get(name, {}).get("dailyGenerations", 0)),
                )
                for name, limits in tier.items()
            }
            return Organization(credit_balance=int(data["creditBalance"]), models=models)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProviderUnavailable(Msg("client.unreadable_status", provider=self._label), status=200) from None

    # --- read, cancel ----------------------------------------------------------------------------------------

    async def get_task(self, task_id: str, *, key: str) -> Task:
        """The task now. Raises TaskNotFound on 404 (``wait`` allows fresh ids a grace period)."""
        response = await self._with_retries("GET", f"/tasks/{task_id}", key=key, every_5xx=True, readable=_is_task)
        if response.status_code == 404:
            raise TaskNotFound(Msg("client.task_unknown", task_id=task_id))
        if response.status_code >= 400:
            raise self._api_error(response)
        try:
            return Task.model_validate(response.json())
        except ValueError:
            raise ProviderUnavailable(
                Msg("client.unreadable_status", provider=self._label), status=response.status_code
            ) from None

    async def cancel_task(self, task_id: str, *, key: str) -> None:
        """Cancel a running task (or delete a finished one). A 404 means it is already gone: fine."""
        response = await self._with_retries("DELETE", f"/tasks/{task_id}", key=key)
        if response.status_code >= 400 and response.status_code != 404:
            raise self._api_error(response)

    async def _with_retries(
        self,
        method: str,
        path: str,
        *,
        key: str,
        json: Any = None,
        every_5xx: bool = False,
        readable: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """A request that is safe to repeat (a read, a cancel, starting an upload that costs nothing), retried on
        connection errors, 429, 502/503/504; with ``every_5xx`` on any 5xx too, and with ``readable`` on a 2xx answer
        it says cannot be read."""
        last_problem: Message = ""
        for attempt in range(self._retry.attempts):
            final = attempt + 1 == self._retry.attempts  # no point waiting after the last try
            try:
                response = await self._http.request(method, path, headers=_auth(key), json=json)
            except httpx.TransportError as err:
                last_problem = Msg("client.problem_connection", error=type(err).__name__)
                if not final:
                    await self._sleep(self._retry.delay(attempt, self._rng))
                continue
            status = response.status_code
            if status < 300 and readable is not None and not readable(response):
                last_problem = Msg("client.problem_unreadable")
                if not final:
                    await self._sleep(self._retry.delay(attempt, self._rng))
                continue
            if status not in RETRYABLE_STATUS and not (every_5xx and status >= 500):
                return response
            last_problem = Msg("client.problem_status", status=status)
            wait = _retry_after(response)
            wait = (
                min(wait, self._retry.max_retry_after_s) if wait is not None else self._retry.delay(attempt, self._rng)
            )
            if not final:
                await self._sleep(wait)
        raise ProviderUnavailable(Msg("client.not_answering", provider=self._label, problem=last_problem), status=0)

    # --- wait ----------------------------------------------------------------------------------------------

    async def wait(
        self, task_id: str, *, key: str, timeout_s: float = 1800.0
    ) -> AsyncIterator[TaskEvent | Unreachable]:
        """Poll until the task ends, yielding an event per poll. THROTTLED time does not count to the timeout.

        A read that still fails after its retries does not end the wait (the task may finish and bill all the same):
        it yields ``Unreachable`` and asks again, further and further apart (up to LOST_CONTACT_POLL_CAP_S); the
        caller decides when to stop following. Time without contact does not count to the timeout either."""
        start = last = self._clock()
        active_s = 0.0
        seen = False
        misses = 0
        while True:
            try:
                task = await self.get_task(task_id, key=key)
            except ProviderUnavailable as err:
                misses += 1
                yield Unreachable(task_id, self._clock() - start, err.message)
                await self._sleep(min(LOST_CONTACT_POLL_CAP_S, self.poll_interval_s * 2 ** min(misses, 16)))
                last = self._clock()
                continue
            except TaskNotFound:
                if seen or self._clock() - start > self._grace_s:
                    raise
                await self._sleep(self._next_poll())
                continue
            seen, misses = True, 0
            now = self._clock()
            event = event_for(task, elapsed_s=now - start)
            if not isinstance(event, Throttled):
                active_s += now - last
            last = now
            yield event
            if task.terminal:
                return
            if active_s > timeout_s:
                raise TaskTimedOut(Msg("client.timed_out", task_id=task_id, minutes=timeout_s / 60))
            await self._sleep(self._next_poll())

    def _next_poll(self) -> float:
        return self.poll_interval_s * (1 + self._poll_jitter * (2 * self._rng() - 1))

    # --- download ----------------------------------------------------------------------------------------------

    async def download(self, url: str, dest: str | os.PathLike[str], *, max_bytes: int) -> Path:
        """Stream an output to ``dest`` (atomically), refusing more than ``max_bytes``. Sends no key."""
        dest = Path(dest)
        partial = dest.with_name(dest.name + ".part")
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code in (401, 403, 404, 410):
                    raise DownloadError(Msg("client.link_refused", status=response.status_code), refused=True)
                if response.status_code >= 400:
                    raise DownloadError(Msg("client.download_failed", status=response.status_code))
                await _stream_to(response, partial, max_bytes=max_bytes)
        except httpx.TransportError as err:
            partial.unlink(missing_ok=True)
            raise DownloadError(Msg("client.download_interrupted", error=type(err).__name__)) from None
        except DownloadError:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(dest)
        return dest

    def _api_error(self, response: httpx.Response) -> ApiError:
        text = _error_text(response)
        status = response.status_code
        if status == 401:
            return AuthError(Msg("client.key_refused", provider=self._label), status=401)
        if status == 429:
            if DAILY_CAP_HINT in text.lower():
                return RateLimited(Msg("client.daily_cap", provider=self._label, text=text))
            return RateLimited(
                Msg("client.rate_limited", provider=self._label, text=text), retry_after=_retry_after(response)
            )
        issues = _issues(response)
        detail: Message = Join([i.message for i in issues], "sentences") if issues else text
        return ApiError(
            Msg("client.rejected", provider=self._label, status=status, detail=detail), status=status, issues=issues
        )

    @property
    def _label(self) -> Label:
        """The provider's name as a visitor reads it ("Simulator" is 模拟器 in Chinese)."""
        return Label(self.provider.label)


class _Counted:
    """A file opened for an upload that reports how much of it has been read (sent) so far. httpx reads it in
    chunks, and learns its size from ``fileno``, so the upload carries a Content-Length (signed upload forms need
    one)."""

    def __init__(self, path: Path, on_progress: Progress | None) -> None:
        self._path, self._on_progress = path, on_progress
        self._total = max(1, path.stat().st_size)
        self._sent = 0

    def __enter__(self) -> _Counted:
        self._file = self._path.open("rb")
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._sent += len(chunk)
        if self._on_progress is not None:
            self._on_progress(min(1.0, self._sent / self._total))
        return chunk

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


async def _stream_to(response: httpx.Response, path: Path, *, max_bytes: int) -> None:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(Msg("client.output_too_large", size=human_bytes(int(declared)), cap=human_bytes(max_bytes)))
    written = 0
    with path.open("wb") as out:
        async for chunk in response.aiter_bytes():
            written += len(chunk)
            if written > max_bytes:
                raise DownloadError(Msg("client.output_over_limit", cap=human_bytes(max_bytes)))
            out.write(chunk)


def _substituted(value: Any, uris: Mapping[str, str]) -> Any:
    """``value`` (a wire body) with every string that is a key of ``uris`` replaced by its value."""
    if isinstance(value, dict):
        return {k: _substituted(v, uris) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, uris) for v in value]
    return uris.get(value, value) if isinstance(value, str) else value


def _is_task(response: httpx.Response) -> bool:
    """The answer reads as a task (JSON with an id and a known status)."""
    try:
        Task.model_validate(response.json())
    except ValueError:
        return False
    return True


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _may_exist(why: Message) -> Msg:
    return Msg("client.may_exist", why=why)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    data = _json(response)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return f"HTTP {response.status_code}"


def _issues(response: httpx.Response) -> list[FieldIssue]:
    data = _json(response)
    raw = data.get("issues") if isinstance(data, dict) else None
    issues: list[FieldIssue] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        path = tuple(item.get("path") or ())
        label = LABELS.get(str(path[0]), str(path[0])) if path else "Request"
        issues.append(FieldIssue(label, str(item.get("message", "invalid")), path))
    return issues


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
