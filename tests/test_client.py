"""The client against scripted providers (``httpx.MockTransport``): headers, keys, errors, retries that never bill
twice, polling, timeouts and downloads. Time is a fake clock: nothing here sleeps for real."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from studio.capabilities import OPENAI_HK, SIMULATOR, ProviderSpec
from studio.client import RetryPolicy, RunwayClient
from studio.errors import (
    ApiError,
    AuthError,
    DownloadError,
    ProviderUnavailable,
    RateLimited,
    TaskMayExist,
    TaskNotFound,
    TaskTimedOut,
)
from studio.requests import parse_request
from studio.tasks import Running, Succeeded, Throttled
from tests.conftest import API_FIXTURES
from tests.fakes import FakeClock

BASE = "https://api.test.example/runwayml"
KEY = "hk-secret-key-1234567890"
TASK_ID = "c7f2b640-9adb-4565-8e99-f759cacef00c"
REQUEST = parse_request(
    "image_to_video",
    {"model": "gen4_turbo", "promptImage": "https://cdn.example.com/a.png", "ratio": "1280:720", "duration": 5},
    provider=OPENAI_HK,
)


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler,
    clock: FakeClock,
    *,
    provider: ProviderSpec = OPENAI_HK,
    rng: Callable[[], float] = lambda: 0.5,
    **kw: Any,
) -> RunwayClient:
    return RunwayClient(
        provider=provider,
        base_url=BASE,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        rng=rng,
        **kw,
    )


def task_json(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": TASK_ID, "status": status, "createdAt": "2024-11-15T13:54:50.800Z"} | extra


def fixture(name: str) -> Any:
    return json.loads((API_FIXTURES / name).read_text())


def posts(seen: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in seen if r.method == "POST"]


# --- headers and keys -----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_call_carries_its_key_version_and_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(200, json=fixture("create_response.json"))
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json=fixture("task_running.json"))

    client = make_client(handler, FakeClock())
    created = await client.create(REQUEST, key=KEY)
    assert created.task_id == TASK_ID
    task = await client.get_task(created.task_id, key=KEY)
    assert task.status == "RUNNING"
    await client.cancel_task(created.task_id, key=KEY)
    await client.aclose()

    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/runwayml/v1/image_to_video"),
        ("GET", f"/runwayml/v1/tasks/{TASK_ID}"),
        ("DELETE", f"/runwayml/v1/tasks/{TASK_ID}"),
    ]
    for request in seen:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["X-Runway-Version"] == "2024-11-06"
        assert request.headers["User-Agent"].startswith("runway-studio/")
    assert json.loads(seen[0].content) == REQUEST.to_wire()


@pytest.mark.asyncio
async def test_the_shared_client_keeps_no_key() -> None:
    seen: list[httpx.Request] = []

    async def slow_handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the two visitors' calls interleave
        seen.append(request)
        return httpx.Response(200, json={"id": request.headers["Authorization"][-5:]})

    client = RunwayClient(provider=OPENAI_HK, base_url=BASE, transport=httpx.MockTransport(slow_handler))
    a, b = await asyncio.gather(client.create(REQUEST, key="key-aaaaa"), client.create(REQUEST, key="key-bbbbb"))
    assert (a.task_id, b.task_id) == ("aaaaa", "bbbbb")
    assert sorted(r.headers["Authorization"] for r in seen) == ["Bearer key-aaaaa", "Bearer key-bbbbb"]
    assert "authorization" not in client._http.headers
    await client.aclose()


@pytest.mark.asyncio
async def test_401_is_an_auth_error_without_the_key() -> None:
    client = make_client(lambda r: httpx.Response(401, json={"error": f"Invalid API key {KEY}"}), FakeClock())
    with pytest.raises(AuthError) as info:
        await client.create(REQUEST, key=KEY)
    assert info.value.status == 401
    assert "401" in str(info.value) and "key" in str(info.value).lower()
    assert KEY not in str(info.value) and KEY not in repr(info.value.args)
    with pytest.raises(AuthError) as info:
        await client.get_task(TASK_ID, key=KEY)
    assert KEY not in str(info.value)


@pytest.mark.asyncio
async def test_400_issues_name_the_field() -> None:
    client = make_client(lambda r: httpx.Response(400, json=fixture("error_400_issues.json")), FakeClock())
    with pytest.raises(ApiError) as info:
        await client.create(REQUEST, key=KEY)
    err = info.value
    assert err.status == 400
    assert [(i.field, i.path) for i in err.issues] == [("Ratio", ("ratio",))]
    assert "1280:768" in str(err.issues[0].message)
    assert "1280:768" in str(err)


# --- create is never re-sent once it may have arrived ---------------------------------------------------------------


def _after_send(exc: type[httpx.TransportError]) -> Callable[[list[httpx.Request]], Handler]:
    def build(seen: list[httpx.Request]) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            raise exc("failed after the request was sent", request=request)

        return handler

    return build


def _status(code: int) -> Callable[[list[httpx.Request]], Handler]:
    def build(seen: list[httpx.Request]) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(code, json={"error": "Internal server error"})

        return handler

    return build


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "build",
    [
        _status(500),
        _status(502),
        _after_send(httpx.ReadTimeout),
        _after_send(httpx.RemoteProtocolError),
        _after_send(httpx.ReadError),
    ],
    ids=["500", "502", "read-timeout", "reset-after-send", "read-error"],
)
async def test_create_that_may_have_arrived_is_not_resent(build: Callable[[list[httpx.Request]], Handler]) -> None:
    seen: list[httpx.Request] = []
    clock = FakeClock()
    client = make_client(build(seen), clock)
    with pytest.raises(TaskMayExist) as info:
        await client.create(REQUEST, key=KEY)
    assert len(posts(seen)) == 1
    assert clock.sleeps == []
    assert "not sent again" in str(info.value) and "history" in str(info.value)


@pytest.mark.asyncio
async def test_create_retries_when_the_connection_was_never_made() -> None:
    attempts: list[httpx.Request] = []
    reached: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        reached.append(request)
        return httpx.Response(200, json={"id": TASK_ID, "estimatedCost": {"credits": 25}})

    clock = FakeClock()
    client = make_client(handler, clock)
    created = await client.create(REQUEST, key=KEY)
    assert created.task_id == TASK_ID and created.estimated_credits == 25.0
    assert len(posts(attempts)) == 2 and len(reached) == 1
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0


@pytest.mark.asyncio
async def test_create_gives_up_when_it_can_never_connect() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    client = make_client(handler, FakeClock(), retry=RetryPolicy(attempts=3))
    with pytest.raises(ProviderUnavailable) as info:
        await client.create(REQUEST, key=KEY)
    assert len(attempts) == 3
    assert "No task was created" in str(info.value)


@pytest.mark.asyncio
async def test_daily_cap_on_create_is_shown_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json=fixture("error_429_daily.json"), headers={"Retry-After": "2"})

    clock = FakeClock()
    client = make_client(handler, clock)
    with pytest.raises(RateLimited) as info:
        await client.create(REQUEST, key=KEY)
    assert len(posts(seen)) == 1
    assert clock.sleeps == []
    assert "Your daily task limit has been reached." in str(info.value)
    assert info.value.status == 429


@pytest.mark.asyncio
async def test_short_rate_limit_on_create_is_waited_out() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "3"})
        return httpx.Response(200, json={"id": TASK_ID})

    clock = FakeClock()
    client = make_client(handler, clock)
    assert (await client.create(REQUEST, key=KEY)).task_id == TASK_ID
    assert clock.sleeps == [3.0]
    assert len(posts(seen)) == 2


@pytest.mark.asyncio
async def test_persistent_rate_limit_on_create_stops() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "1"})

    client = make_client(handler, FakeClock())
    with pytest.raises(RateLimited) as info:
        await client.create(REQUEST, key=KEY)
    assert len(posts(seen)) == 3  # the first try and two short waits, then it is shown
    assert info.value.retry_after == 1.0


@pytest.mark.asyncio
async def test_long_retry_after_on_create_is_shown_not_waited() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "120"})

    clock = FakeClock()
    with pytest.raises(RateLimited):
        await make_client(handler, clock).create(REQUEST, key=KEY)
    assert len(seen) == 1 and clock.sleeps == []


# --- reads retry ----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_retries_gateway_errors_and_connection_errors_with_growing_backoff() -> None:
    script: list[Any] = [502, 503, httpx.ConnectError, 504, httpx.ReadTimeout, 200]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = script[len(seen) - 1]
        if isinstance(step, type):
            raise step("boom", request=request)
        return httpx.Response(
            step, json=task_json("RUNNING", progress=0.5) if step == 200 else {"error": "bad gateway"}
        )

    clock = FakeClock()
    task = await make_client(handler, clock).get_task(TASK_ID, key=KEY)
    assert task.status == "RUNNING" and task.progress == 0.5
    assert len(seen) == 6
    assert len(clock.sleeps) == 5
    assert all(b > a for a, b in zip(clock.sleeps, clock.sleeps[1:])), clock.sleeps
    assert clock.sleeps[0] >= 0.5 and max(clock.sleeps) <= 8.0 * 1.5


def test_backoff_has_jitter() -> None:
    policy = RetryPolicy()
    low, high = policy.delay(2, lambda: 0.0), policy.delay(2, lambda: 0.999)
    assert low == 2.0 and 2.9 < high <= 3.0
    assert policy.delay(20, lambda: 0.0) == policy.cap_s


@pytest.mark.asyncio
async def test_get_honours_retry_after_on_429() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "7"})
        return httpx.Response(200, json=task_json("PENDING"))

    clock = FakeClock()
    assert (await make_client(handler, clock).get_task(TASK_ID, key=KEY)).status == "PENDING"
    assert clock.sleeps == [7.0]


@pytest.mark.asyncio
async def test_get_gives_up_after_the_retry_budget() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    clock = FakeClock()
    with pytest.raises(ProviderUnavailable) as info:
        await make_client(handler, clock, retry=RetryPolicy(attempts=4)).get_task(TASK_ID, key=KEY)
    assert len(seen) == 4
    assert len(clock.sleeps) == 3
    assert "503" in str(info.value)


# --- waiting --------------------------------------------------------------------------------------------------------


async def collect(client: RunwayClient, **kw: Any) -> list[Any]:
    return [event async for event in client.wait(TASK_ID, key=KEY, **kw)]


def scripted(clock: FakeClock, timeline: Callable[[float], httpx.Response], seen: list[float] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(clock.elapsed)
        return timeline(clock.elapsed)

    return handler


@pytest.mark.asyncio
async def test_fresh_task_404_is_tolerated_within_the_grace() -> None:
    clock = FakeClock()

    def timeline(t: float) -> httpx.Response:
        if t < 10:
            return httpx.Response(404, json={"error": "Task not found"})
        return httpx.Response(200, json=task_json("SUCCEEDED", output=["https://cdn.example.com/o.mp4"]))

    events = await collect(make_client(scripted(clock, timeline), clock))
    assert isinstance(events[-1], Succeeded)
    assert events[-1].outputs == ("https://cdn.example.com/o.mp4",)
    assert 10 <= clock.elapsed < 15


@pytest.mark.asyncio
async def test_404_beyond_the_grace_is_task_not_found() -> None:
    clock = FakeClock()
    polls: list[float] = []
    client = make_client(scripted(clock, lambda t: httpx.Response(404, json={"error": "Task not found"}), polls), clock)
    with pytest.raises(TaskNotFound) as info:
        await collect(client)
    assert TASK_ID in str(info.value)
    assert 15 < clock.elapsed <= 15 + 6  # gave up at the first poll after 15 s
    assert len(polls) >= 3


@pytest.mark.asyncio
async def test_404_after_the_task_was_seen_is_not_excused() -> None:
    clock = FakeClock()

    def timeline(t: float) -> httpx.Response:
        return httpx.Response(200, json=task_json("RUNNING", progress=0.1)) if t < 1 else httpx.Response(404)

    with pytest.raises(TaskNotFound):
        await collect(make_client(scripted(clock, timeline), clock))
    assert clock.elapsed < 10


@pytest.mark.asyncio
async def test_throttled_time_does_not_count_towards_the_timeout() -> None:
    clock = FakeClock()

    def timeline(t: float) -> httpx.Response:
        if t < 300:
            return httpx.Response(200, json=task_json("THROTTLED"))
        if t < 310:
            return httpx.Response(200, json=task_json("RUNNING", progress=(t - 300) / 10))
        return httpx.Response(200, json=task_json("SUCCEEDED", output=["https://cdn.example.com/o.mp4"]))

    events = await collect(make_client(scripted(clock, timeline), clock), timeout_s=60)
    assert isinstance(events[-1], Succeeded)
    assert sum(isinstance(e, Throttled) for e in events) >= 55
    assert any(isinstance(e, Running) for e in events)
    assert events[-1].elapsed_s >= 310


@pytest.mark.asyncio
async def test_running_beyond_the_timeout_times_out() -> None:
    clock = FakeClock()
    client = make_client(scripted(clock, lambda t: httpx.Response(200, json=task_json("RUNNING", progress=0.5))), clock)
    with pytest.raises(TaskTimedOut) as info:
        await collect(client, timeout_s=60)
    assert 60 < clock.elapsed <= 70
    assert "still running" in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "extra"),
    [
        (
            "FAILED",
            {"failure": "Text prompt did not pass moderation", "failureCode": "INPUT_PREPROCESSING.SAFETY.TEXT"},
        ),
        ("CANCELLED", {}),
    ],
)
async def test_wait_stops_on_failed_and_cancelled(status: str, extra: dict[str, str]) -> None:
    clock = FakeClock()
    events = await collect(
        make_client(scripted(clock, lambda t: httpx.Response(200, json=task_json(status, **extra))), clock)
    )
    assert len(events) == 1 and type(events[0]).__name__ == status.title()
    assert clock.sleeps == []  # a finished task is not polled again


@pytest.mark.asyncio
@pytest.mark.parametrize(("provider", "interval"), [(OPENAI_HK, 5.0), (SIMULATOR, 0.5)], ids=["openai-hk", "simulator"])
async def test_polling_cadence_is_the_provider_interval_with_jitter(provider: ProviderSpec, interval: float) -> None:
    clock = FakeClock()
    rng = random.Random(7).random

    def timeline(t: float) -> httpx.Response:
        if t < 40 * interval:
            return httpx.Response(200, json=task_json("RUNNING", progress=min(0.99, t / (40 * interval))))
        return httpx.Response(200, json=task_json("SUCCEEDED", output=["https://cdn.example.com/o.mp4"]))

    await collect(make_client(scripted(clock, timeline), clock, provider=provider, rng=rng))
    assert len(clock.sleeps) >= 30
    assert all(interval * 0.8 <= s <= interval * 1.2 for s in clock.sleeps), clock.sleeps
    assert max(clock.sleeps) - min(clock.sleeps) > interval * 0.2  # actually jittered, not a fixed sleep


# --- cancel ---------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [204, 404])
async def test_cancel_accepts_204_and_404(status: int) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    await make_client(handler, FakeClock()).cancel_task(TASK_ID, key=KEY)
    assert [(r.method, r.url.path) for r in seen] == [("DELETE", f"/runwayml/v1/tasks/{TASK_ID}")]


@pytest.mark.asyncio
async def test_cancel_that_keeps_failing_raises() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    clock = FakeClock()
    with pytest.raises(ProviderUnavailable):
        await make_client(handler, clock, retry=RetryPolicy(attempts=3)).cancel_task(TASK_ID, key=KEY)
    assert len(seen) == 3
    assert len(clock.sleeps) == 2  # waits between tries, not after the last one


@pytest.mark.asyncio
async def test_cancel_on_500_raises() -> None:
    with pytest.raises(ApiError) as info:
        await make_client(lambda r: httpx.Response(500, json={"error": "Internal"}), FakeClock()).cancel_task(
            TASK_ID, key=KEY
        )
    assert info.value.status == 500


@pytest.mark.asyncio
async def test_cancel_survives_a_transient_gateway_error() -> None:
    replies = iter([502, 204])
    clock = FakeClock()
    await make_client(lambda r: httpx.Response(next(replies)), clock).cancel_task(TASK_ID, key=KEY)
    assert len(clock.sleeps) == 1


# --- download -------------------------------------------------------------------------------------------------------

OUTPUT_URL = "https://dnznrvs05pmza.cloudfront.net/94a66520.mp4?_jwt=abc"
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400  # ~100 kB


async def chunks(data: bytes, size: int = 8192, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, start in enumerate(range(0, len(data), size)):
        if fail_after is not None and index == fail_after:
            raise httpx.ReadError("connection reset")
        yield data[start : start + size]


@pytest.mark.asyncio
async def test_download_streams_to_disk_atomically_without_the_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=chunks(CLIP), headers={"Content-Type": "video/mp4"})

    dest = tmp_path / "clip.mp4"
    result = await make_client(handler, FakeClock()).download(OUTPUT_URL, dest, max_bytes=10 * 1024 * 1024)
    assert result == dest
    assert dest.read_bytes() == CLIP
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no .part left behind
    assert len(seen) == 1
    assert str(seen[0].url) == OUTPUT_URL
    assert "authorization" not in seen[0].headers


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [403, 410])
async def test_expired_output_link(tmp_path: Path, status: int) -> None:
    client = make_client(lambda r: httpx.Response(status, text="Request has expired"), FakeClock())
    with pytest.raises(DownloadError) as info:
        await client.download(OUTPUT_URL, tmp_path / "clip.mp4", max_bytes=10_000_000)
    assert "expired" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_download_over_max_bytes_leaves_nothing(tmp_path: Path, declared: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=CLIP if declared else chunks(CLIP))

    with pytest.raises(DownloadError) as info:
        await make_client(handler, FakeClock()).download(OUTPUT_URL, tmp_path / "clip.mp4", max_bytes=50_000)
    assert "49 KiB" in str(info.value)  # the limit, in words a person reads
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_interrupted_download_keeps_the_old_file(tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"previous clip")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(CLIP, fail_after=3))

    with pytest.raises(DownloadError) as info:
        await make_client(handler, FakeClock()).download(OUTPUT_URL, dest, max_bytes=10_000_000)
    assert "interrupted" in str(info.value)
    assert dest.read_bytes() == b"previous clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
