"""Faults: injected in the simulator, survived by the studio.

Each fault is injected through the simulator's own knobs (``app.state.faults``; connection resets and timeouts
through ``FaultyTransport``, exactly as the embedded simulator is wired in ``studio.wiring.build_studio``), and a
generation is driven through the service as the page drives it (``prepare`` + ``start`` + ``wait_done``, and
``reconcile`` where the job was interrupted). For each one, three things a visitor would notice:

(a) nothing is lost from History: the row exists and ends in the right state once the fault clears (an
    "interrupted" job leaves its row open, and a later ``reconcile`` brings it to succeeded);
(b) no task is created twice: the simulator's ``counters.created`` is 1 when the request reached it, 0 when it
    never did, never 2 for one click;
(c) the status message says plainly what happened and what to do.

One fake clock drives the simulator and the client, so nothing sleeps for real except ``slow_s``. Every success
shares one rendered clip: the same request (same image, ratio 960:960, seed) always renders to the same file,
and the file is rendered once for the whole module.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from studio.capabilities import SIMULATOR
from studio.history import Generation
from studio.jobs import MAY_EXIST_CODE, Job, JobStatus
from studio.simulator.config import SimulatorConfig
from studio.simulator.faults import Faults, FaultyTransport
from studio.ui.status import status_html
from tests.rigs import SimulatedStudio, paper_boats

VISITOR = "browser:faulty"
ENDPOINT = "image_to_video"
FORM = paper_boats()

Hook = Callable[[httpx.Request], None]


class Recorder(httpx.AsyncBaseTransport):
    """Sits between ``FaultyTransport`` and the simulator: records what reached the server and what it answered,
    and runs ``before`` hooks just before a request is handed to the simulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, int]] = []  # (method, path, status) of every request that reached the server
        self.before: list[Hook] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for hook in self.before:
            hook(request)
        response = await self.inner.handle_async_request(request)
        self.seen.append((request.method, request.url.path, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class Rig(SimulatedStudio):
    """A studio on an in-process simulator, both on one fake clock, the transport wrapped as the studio wraps it."""

    def __init__(self, tmp: Path, clips: Path, *, ttl: float = 3600.0) -> None:
        config = SimulatorConfig(pending_s=0.5, running_s=2.0, output_ttl_s=ttl, output_dir=clips)
        super().__init__(tmp / "data", SIMULATOR, config)

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        self.recorder = Recorder(transport)
        return FaultyTransport(self.recorder, self.simulator.state.faults)

    @property
    def faults(self) -> Faults:
        return self.simulator.state.faults

    @property
    def posts(self) -> int:
        """Create calls that reached the simulator (whatever it answered)."""
        return sum(1 for method, _, _ in self.recorder.seen if method == "POST")

    async def start(self) -> Job:
        return await self.studio.submit(FORM, provider="simulator", visitor=VISITOR, visitor_key=None)

    async def generate(self) -> tuple[JobStatus, list[JobStatus]]:
        """One visitor click: the final status and every status the page saw on the way."""
        job = await self.start()
        seen = [status async for status in job.follow()]
        return seen[-1], seen

    def row(self, status: JobStatus) -> Generation:
        assert status.generation_id is not None
        found = self.studio.history.get(status.generation_id)
        assert found is not None, "the generation vanished from history"
        return found

    async def reconcile(self) -> JobStatus:
        """The background reconciler's pass, then the resumed job to its end."""
        assert await self.studio.reconcile() == 1, "the reconciler did not pick the open row up"
        job = self.studio.live_job(visitor=VISITOR, endpoint=ENDPOINT)
        assert job is not None
        return await job.wait_done()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's output folder, shared by every rig here, with the one clip already rendered."""
    folder = tmp_path_factory.mktemp("fault-clips")

    async def warm() -> None:
        rig = Rig(tmp_path_factory.mktemp("warm"), folder)
        final, _ = await rig.generate()
        assert final.phase == "succeeded", str(final.message)

    asyncio.run(warm())
    return folder


@pytest.fixture
def rig(tmp_path: Path, clips: Path) -> Rig:
    return Rig(tmp_path, clips)


def assert_vaulted(rig: Rig, status: JobStatus) -> None:
    """Succeeded, told so, the clip kept in the studio's own vault, and History agrees."""
    assert status.phase == "succeeded", str(status.message)
    assert "ready" in str(status.message).lower(), str(status.message)
    assert status.video is not None and status.video.is_file()
    row = rig.row(status)
    assert row.status == "succeeded" and row.task_id == status.task_id
    assert row.output_path and Path(row.output_path).is_file()


def assert_may_exist(rig: Rig, status: JobStatus) -> None:
    """A create that may have reached the server: failed with STUDIO.MAY_EXIST, told plainly, never re-sent."""
    assert status.phase == "failed" and status.failure_code == MAY_EXIST_CODE, status
    message = str(status.message).lower()
    assert "may exist" in message and "not sent again" in message, str(status.message)
    assert "history" in message or "dashboard" in message, f"no advice on what to do: {str(status.message)}"
    row = rig.row(status)
    assert row.status == "failed" and row.failure_code == MAY_EXIST_CODE and row.task_id is None
    assert row.failure_reason == str(status.message)
    assert rig.posts == 1, f"the create call reached the server {rig.posts} times: {rig.recorder.seen}"


def assert_open(rig: Rig, status: JobStatus) -> Generation:
    """Interrupted: the page stopped following, but the row is kept open (with its task) for the reconciler."""
    assert status.phase == "interrupted", status
    row = rig.row(status)
    assert not row.terminal, f"an interrupted job's row was closed as {row.status}"
    assert row.task_id == status.task_id and row.task_id in rig.engine.tasks
    return row


# --- 429 on create -------------------------------------------------------------------------------------------


async def test_a_rate_limit_that_clears_is_waited_out_and_makes_one_task(rig: Rig) -> None:
    rig.faults.update({"create_status": [429], "retry_after_s": 1.0})
    final, _ = await rig.generate()
    assert_vaulted(rig, final)
    assert rig.posts == 2 and rig.created == 1  # refused once, sent again after Retry-After, one task
    assert 1.0 in rig.clock.sleeps  # it waited what the server asked


async def test_the_daily_cap_is_shown_and_not_retried(rig: Rig) -> None:
    rig.faults.update({"create_status": [429, 429]})  # the daily cap: no Retry-After, its message says "daily"
    final, _ = await rig.generate()
    assert final.phase == "failed", final
    message = str(final.message).lower()
    assert "daily" in message and "resets" in message and "no task was created" in message, str(final.message)
    assert rig.posts == 1 and rig.faults.create_status == [429], "the daily cap was retried"
    assert rig.created == 0
    row = rig.row(final)
    assert row.status == "failed" and row.failure_reason == str(final.message) and row.task_id is None


# --- 5xx on create: the task may exist -------------------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502, 503, 504])
async def test_a_server_error_on_create_is_never_resent_and_says_the_task_may_exist(rig: Rig, code: int) -> None:
    rig.faults.update({"create_status": [code]})
    final, _ = await rig.generate()
    assert_may_exist(rig, final)
    assert str(code) in str(final.message)
    # The simulator made no task for an injected status, but the studio cannot know that: it must still warn.
    assert rig.created == 0


# --- 5xx on GET: retried with backoff ------------------------------------------------------------------------------


def task_reads(rig: Rig) -> list[int]:
    """The status of every task read that reached the simulator, in order."""
    return [
        status
        for method, path, status in rig.recorder.seen
        if method == "GET" and path.startswith("/runwayml/v1/tasks/")
    ]


@pytest.mark.parametrize("code", [500, 502, 503, 504, 520])
async def test_a_server_error_while_following_is_retried_and_the_clip_arrives(rig: Rig, code: int) -> None:
    rig.faults.update({"read_status": [code, code]})
    final, _ = await rig.generate()
    assert_vaulted(rig, final)
    assert rig.created == 1 and rig.posts == 1
    reads = task_reads(rig)
    assert reads[:3] == [code, code, 200], reads  # answered with errors twice, asked again, then followed


async def test_one_500_on_a_task_read_still_ends_with_the_clip_in_history(rig: Rig) -> None:
    rig.faults.update({"read_status": [500]})
    final, seen = await rig.generate()
    assert_vaulted(rig, final)
    assert not [s for s in seen if s.phase in ("failed", "interrupted")], [str(s.message) for s in seen]
    assert rig.created == 1 and task_reads(rig)[0] == 500


async def test_a_minute_of_500s_on_task_reads_still_ends_with_the_clip_in_history(rig: Rig) -> None:
    rig.faults.update({"read_outage_s": 60.0})
    final, seen = await rig.generate()
    assert_vaulted(rig, final)
    lost = [s for s in seen if "lost contact" in str(s.message).lower()]
    assert lost, [str(s.message) for s in seen]  # the page said what was going on meanwhile
    assert not lost[0].final and "still following" in str(lost[0].message).lower(), str(lost[0].message)
    assert "500" in str(lost[0].message), str(lost[0].message)
    reads = task_reads(rig)
    assert reads.count(500) >= 6 and reads[-1] == 200, reads
    assert rig.created == 1 and rig.posts == 1


async def test_an_outage_longer_than_the_retries_keeps_following_and_the_clip_arrives(rig: Rig) -> None:
    rig.faults.update({"read_status": [503] * 6})  # every attempt of one read
    final, seen = await rig.generate()
    lost = [s for s in seen if "lost contact" in str(s.message).lower()]
    assert lost and "not answering" in str(lost[0].message), [str(s.message) for s in seen]
    assert_vaulted(rig, final)
    assert rig.created == 1


async def test_a_task_unreadable_for_two_days_is_given_up_as_lost(rig: Rig) -> None:
    rig.faults.update({"read_outage_s": 3 * 24 * 3600.0})
    final, _ = await rig.generate()
    assert final.phase == "lost", final
    assert "48 hours" in str(final.message) and "dashboard" in str(final.message), str(final.message)
    assert rig.row(final).status == "lost"
    assert 48 * 3600 <= rig.clock.elapsed < 49 * 3600  # followed until its link would have expired, not longer


async def test_after_a_restart_the_reconciler_follows_a_task_through_an_outage(rig: Rig) -> None:
    job = await rig.start()
    async for status in job.follow():
        if status.task_id:
            break
    job._runner.cancel()  # the studio process dies with the task created and its row open
    rig.faults.update({"read_outage_s": 600.0})  # and comes back while the provider cannot be read for ten minutes
    rig.studio = rig.restarted()
    final = await rig.reconcile()
    assert_vaulted(rig, final)
    assert rig.created == 1 and task_reads(rig).count(500) >= 6


async def test_a_refused_task_read_leaves_the_generation_open_for_the_reconciler(rig: Rig) -> None:
    rig.faults.update({"read_status": [400]})  # not the provider's terminal status: the task may still finish
    final, _ = await rig.generate()
    assert_open(rig, final)
    assert "400" in str(final.message) and "background" in str(final.message), str(final.message)
    assert_vaulted(rig, await rig.reconcile())
    assert rig.created == 1


# --- connection faults ---------------------------------------------------------------------------------------------


async def test_a_reset_before_sending_is_retried_and_makes_one_task(rig: Rig) -> None:
    rig.faults.update({"connection": ["reset_before"]})
    final, _ = await rig.generate()
    assert_vaulted(rig, final)
    assert rig.faults.connection == [] and rig.posts == 1 and rig.created == 1


@pytest.mark.parametrize("fault", ["reset_after", "timeout_after"])
async def test_a_connection_lost_after_sending_is_never_resent(rig: Rig, fault: str) -> None:
    rig.faults.update({"connection": [fault]})
    final, _ = await rig.generate()
    assert_may_exist(rig, final)
    # The task really exists (and will be billed); the studio cannot know its id, so its row ends failed with
    # STUDIO.MAY_EXIST and the message sends the visitor to check before trying again.
    assert rig.created == 1 and len(rig.engine.tasks) == 1


# --- slow and malformed answers ------------------------------------------------------------------------------------


async def test_slow_answers_still_end_with_the_clip(rig: Rig) -> None:
    rig.faults.update({"slow_s": 0.05})  # real time, on every API answer
    began = time.monotonic()
    final, _ = await rig.generate()
    assert_vaulted(rig, final)
    calls = sum(1 for method, path, _ in rig.recorder.seen if path.startswith("/runwayml/v1/"))
    assert time.monotonic() - began >= 0.05 * calls  # the answers really were slow
    assert rig.created == 1


async def test_an_unreadable_answer_to_the_create_call_says_the_task_may_exist(rig: Rig) -> None:
    rig.faults.update({"malformed": 1})
    final, _ = await rig.generate()
    assert_may_exist(rig, final)
    assert "could not be read" in str(final.message)
    assert rig.created == 0


async def test_an_unreadable_task_status_is_asked_again(rig: Rig) -> None:
    def garble_first_read(request: httpx.Request) -> None:
        if request.method == "GET" and request.url.path.startswith("/runwayml/v1/tasks/") and not rig.recorder.seen[1:]:
            rig.faults.update({"malformed": 1})

    rig.recorder.before.append(garble_first_read)
    final, _ = await rig.generate()
    assert rig.faults.malformed == 0, "the fault never reached a status read"
    assert_vaulted(rig, final)  # followed on without a pause: the read was simply asked again
    assert rig.created == 1 and task_reads(rig)[:2] == [200, 200]  # the garbled one answered 200, then asked again


@pytest.mark.parametrize("body", ['{"id": "x"}', '{"id": "x", "status": "EXPLODED"}', "<html>gateway</html>"])
async def test_a_task_read_without_a_known_status_is_asked_again(rig: Rig, body: str) -> None:
    garbled: list[str] = []

    class Garble(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if request.method == "GET" and "/v1/tasks/" in request.url.path and not garbled:
                garbled.append(body)
                await response.aclose()
                return httpx.Response(200, text=body, headers={"content-type": "application/json"})
            return response

    inner = rig.client._http._transport
    rig.client._http._transport = Garble()
    final, seen = await rig.generate()
    assert garbled == [body]
    assert_vaulted(rig, final)
    assert not [s for s in seen if s.phase in ("failed", "interrupted", "cancelled")], [s.phase for s in seen]


# --- long THROTTLED, fresh ids answering 404 -----------------------------------------------------------------------


async def test_a_long_throttle_is_shown_and_waited_out(rig: Rig) -> None:
    rig.faults.update({"throttled_s": 600.0})
    began = rig.clock()
    final, seen = await rig.generate()
    assert_vaulted(rig, final)
    throttled = [s for s in seen if s.phase == "throttled"]
    assert throttled and "throttled" in str(throttled[0].message).lower(), [s.phase for s in seen]
    assert "start on its own" in str(throttled[0].message)
    assert rig.clock() - began >= 600
    assert "throttled" in [c.status for c in rig.studio.history.changes(final.generation_id)]
    assert rig.created == 1


async def test_a_fresh_id_answering_404_briefly_is_tolerated(rig: Rig) -> None:
    rig.faults.update({"fresh_404_s": 10.0})
    final, _ = await rig.generate()
    assert_vaulted(rig, final)
    assert any(status == 404 for method, _, status in rig.recorder.seen if method == "GET")
    assert rig.created == 1


async def test_a_fresh_id_answering_404_past_the_grace_is_not_forgotten(rig: Rig) -> None:
    rig.faults.update({"fresh_404_s": 30.0})  # twice the client's 15 s grace for fresh ids
    final, _ = await rig.generate()
    assert final.phase in ("lost", "interrupted"), final
    row = rig.row(final)
    assert row.task_id == final.task_id and row.task_id in rig.engine.tasks  # the row keeps the task's id
    if final.phase == "lost":
        assert row.status == "lost" and row.failure_reason == str(final.message)
    assert rig.created == 1


async def test_a_fresh_id_answering_404_past_the_grace_is_vaulted_once_it_shows(rig: Rig) -> None:
    rig.faults.update({"fresh_404_s": 30.0})
    final, _ = await rig.generate()
    assert final.phase != "succeeded"
    rig.faults.clear()
    rig.clock.advance(60)  # the reconciler's next pass
    assert_vaulted(rig, await rig.reconcile())
    assert rig.created == 1


# --- FAILED, by failure family ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("INTERNAL", ["temporary problem", "safe to try again"]),
        ("ASSET.INVALID", ["input could not be used", "check the image or video"]),
        ("SAFETY.INPUT.IMAGE", ["moderation", "an input image", "charged", "change the input"]),
        ("SAFETY.OUTPUT.VIDEO", ["moderation", "the generated video", "charged"]),
        ("WEIRD.CODE", ["WEIRD.CODE"]),
    ],
)
async def test_a_failed_task_says_why_in_plain_words(rig: Rig, code: str, expected: list[str]) -> None:
    rig.faults.update({"fail_code": code})
    final, _ = await rig.generate()
    assert final.phase == "failed" and final.failure_code == code, final
    for words in expected:  # a code is shown verbatim; plain words in any case
        assert (words in str(final.message)) if words.isupper() else (words in str(final.message).lower()), (
            words,
            str(final.message),
        )
    if code == "SAFETY.OUTPUT.VIDEO":
        assert "input image" not in str(final.message)  # it was the output, not the visitor's image
    row = rig.row(final)
    assert row.status == "failed" and row.failure_code == code and row.failure_reason == str(final.message)
    assert row.task_id == final.task_id
    assert rig.created == 1 and rig.posts == 1  # a failed task is not re-sent


# --- outputs refused or expired ---------------------------------------------------------------------------------------


async def test_a_refused_output_link_is_asked_again_then_reported(rig: Rig) -> None:
    """A refused link gets one fresh look at the task (providers may sign a new link); refused again, the
    generation ends with a reason instead of promising retries forever. The task and its id stay in history."""
    rig.faults.update({"output_status": 403})
    final, _ = await rig.generate()
    assert final.phase == "failed" and final.failure_code == "STUDIO.OUTPUT_REFUSED", final
    assert (
        "403" in str(final.message)
        and "expired or was refused" in str(final.message)
        and "Generate it again" in str(final.message)
    )
    row = rig.row(final)
    assert row.terminal and row.task_id == final.task_id and row.output_path is None
    downloads = [p for _, p, _ in rig.recorder.seen if p.startswith("/_simulator/outputs/")]
    assert len(downloads) == 1  # the same link is not fetched twice: it was refused
    assert rig.created == 1


def _expire_before_first_download(rig: Rig) -> None:
    def advance(request: httpx.Request) -> None:
        if request.url.path.startswith("/_simulator/outputs/") and not any(
            p.startswith("/_simulator/") for _, p, _ in rig.recorder.seen
        ):
            rig.clock.advance(60)  # the link lives 5 s: gone by the time the download starts

    rig.recorder.before.append(advance)


async def test_an_expired_output_link_ends_with_a_reason_instead_of_retrying_forever(
    tmp_path: Path, clips: Path
) -> None:
    rig = Rig(tmp_path, clips, ttl=5.0)
    _expire_before_first_download(rig)
    final, _ = await rig.generate()
    for _ in range(3):  # three days of reconciler passes
        rig.clock.advance(24 * 3600)
        if await rig.studio.reconcile():
            job = rig.studio.live_job(visitor=VISITOR, endpoint=ENDPOINT)
            assert job is not None
            await job.wait_done()
    row = rig.row(final)
    assert row.terminal and row.status in ("failed", "lost"), row.status
    assert row.failure_reason and "expired" in row.failure_reason
    assert final.phase == "failed" and "Generate it again" in str(final.message)  # said at once, not after days


# --- what the page shows ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"create_status": [500]}, id="may-exist"),
        pytest.param({"create_status": [429]}, id="daily-cap"),
        pytest.param({"fail_code": "SAFETY.INPUT.IMAGE"}, id="moderated"),
        pytest.param({"throttled_s": 30.0}, id="throttled-then-succeeded"),
        pytest.param({"output_status": 403}, id="interrupted"),  # raised KeyError at 121828a: no title for the phase
        pytest.param({"fresh_404_s": 30.0}, id="lost"),
    ],
)
async def test_the_status_panel_shows_how_a_fault_ended(rig: Rig, fault: dict[str, Any]) -> None:
    rig.faults.update(fault)
    final, seen = await rig.generate()
    panels = [status_html(status) for status in seen]  # every status the page streams, as the page draws it
    assert f'data-phase="{final.phase}"' in panels[-1]
    assert html.escape(str(final.message)) in panels[-1], panels[-1]
