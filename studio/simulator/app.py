"""The simulator's HTTP API: a Runway-compatible ASGI app built by a factory.

Routes (each also under ``/runwayml``, the proxy's prefix):
``POST /v1/image_to_video``, ``POST /v1/video_to_video``, ``POST /v1/character_performance``,
``GET /v1/tasks/{id}``, ``DELETE /v1/tasks/{id}``; and ``GET /_simulator/outputs/{id}.mp4`` serving the clips
behind signed links that expire like the real ones.

Bodies are validated by ``studio.requests`` against the same capability table the studio uses, so a 400 here
carries the same message the studio would have shown before sending.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from studio.capabilities import ENDPOINTS
from studio.errors import InvalidInput
from studio.requests import parse_request
from studio.simulator.config import SimulatorConfig
from studio.simulator.engine import SimTask, TaskEngine

OUTPUT_PATH = "/_simulator/outputs"


def create_app(config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """A new simulator. ``app.state.engine`` is its task engine (tests read its counters)."""
    config = config or SimulatorConfig()
    engine = TaskEngine(config, clock=clock)
    secret = (config.url_secret or secrets.token_hex(16)).encode()

    def sign(task_id: str, expires: int) -> str:
        return hmac.new(secret, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def output_url(request: HttpRequest) -> Callable[[SimTask], str]:
        def build(task: SimTask) -> str:
            expires = int(engine.expires_at(task))
            root = str(request.base_url).rstrip("/")
            return f"{root}{OUTPUT_PATH}/{task.id}.mp4?expires={expires}&sig={sign(task.id, expires)}"

        return build

    faults = engine.faults

    async def injected(status: int | None) -> Response | None:
        """An injected fault's answer, if one is due (slowness always applies)."""
        if faults.slow_s:
            await asyncio.sleep(faults.slow_s)
        if faults.take_malformed():
            return Response('{"id": "broken', media_type="application/json")
        if status is None:
            return None
        headers = {"Retry-After": f"{faults.retry_after_s:g}"} if faults.retry_after_s is not None else {}
        # A 429 with a Retry-After is a rate limit that clears; without one it is the daily cap (runway-api.md).
        if status == 429:
            message = (
                "Rate limit exceeded."
                if faults.retry_after_s is not None
                else "Your daily task limit has been reached."
            )
        else:
            message = f"Injected error {status}."
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    async def create(request: HttpRequest) -> Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        authorization = _bearer(request)
        if authorization is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        if (fault := await injected(faults.take_create_status())) is not None:
            return fault
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        try:
            # Off the event loop: checking a 16 MiB data URI takes ~40 ms, and the embedded simulator shares the
            # studio's loop with every visitor.
            validated = await asyncio.to_thread(parse_request, endpoint, body, provider=engine.provider)
        except InvalidInput as err:
            return _invalid(err)
        task = engine.create(validated, authorization=authorization)
        return JSONResponse({"id": task.id, "estimatedCost": {"credits": task.estimated_credits}})

    async def get_task(request: HttpRequest) -> Response:
        if _bearer(request) is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        if (fault := await injected(faults.take_read_status())) is not None:
            return fault
        task = engine.tasks.get(request.path_params["task_id"])
        if task is None or engine.clock() < task.created_at + faults.fresh_404_s:
            return _error(404, "Task not found.")
        return JSONResponse(engine.snapshot(task, output_url=output_url(request)))

    async def delete_task(request: HttpRequest) -> Response:
        if _bearer(request) is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        if not engine.cancel(request.path_params["task_id"]):
            return _error(404, "Task not found.")
        return Response(status_code=204)

    async def output(request: HttpRequest) -> Response:
        if faults.output_status is not None:
            return Response(
                f"Injected error {faults.output_status}.", status_code=faults.output_status, media_type="text/plain"
            )
        task = engine.tasks.get(request.path_params["task_id"])
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            expires = 0
        good_sig = task is not None and hmac.compare_digest(request.query_params.get("sig", ""), sign(task.id, expires))
        path = engine.output_path(task) if task is not None and good_sig else None
        if path is None or engine.clock() > expires:
            return Response(
                "Request has expired or the signature is invalid.", status_code=403, media_type="text/plain"
            )
        return FileResponse(path, media_type="video/mp4")

    routes: list[Route] = []
    for prefix in ("", "/runwayml"):
        routes += [Route(f"{prefix}/v1/{endpoint}", create, methods=["POST"]) for endpoint in ENDPOINTS]
        routes += [
            Route(f"{prefix}/v1/tasks/{{task_id}}", get_task, methods=["GET"]),
            Route(f"{prefix}/v1/tasks/{{task_id}}", delete_task, methods=["DELETE"]),
        ]
    routes.append(Route(f"{OUTPUT_PATH}/{{task_id}}.mp4", output, methods=["GET"]))
    if config.admin:
        routes += _admin_routes(engine)
    app = Starlette(routes=routes)
    app.state.engine = engine
    app.state.faults = faults
    return app


def _admin_routes(engine: TaskEngine) -> list[Route]:
    """Fault knobs and counters over HTTP, for a standalone simulator started with --admin (off by default)."""

    async def set_faults(request: HttpRequest) -> Response:
        try:
            engine.faults.update(json.loads(await request.body()))
        except (ValueError, TypeError, AttributeError) as err:
            return _error(400, str(err))
        return JSONResponse(asdict(engine.faults))

    async def clear_faults(_: HttpRequest) -> Response:
        engine.faults.clear()
        return JSONResponse(asdict(engine.faults))

    async def stats(_: HttpRequest) -> Response:
        return JSONResponse({"created": engine.counters.created, "by_endpoint": engine.counters.by_endpoint})

    return [
        Route("/_simulator/faults", set_faults, methods=["POST"]),
        Route("/_simulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_simulator/stats", stats, methods=["GET"]),
    ]


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return header if scheme.lower() == "bearer" and token.strip() else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _invalid(err: InvalidInput) -> JSONResponse:
    issues = [{"code": "invalid", "path": list(i.path), "message": str(i.message)} for i in err.issues]
    return JSONResponse({"error": "Invalid input", "issues": issues}, status_code=400)
