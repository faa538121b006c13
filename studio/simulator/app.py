"""The simulator's HTTP API: a Runway-compatible ASGI app built by a factory. It speaks both dialects:

* ``/runwayml/v1/...``: the openai-hk proxy's, under the proxy's table;
* ``/v1/...``: Runway's official API, under the official table: it requires ``X-Runway-Version``, and also serves
  ``POST /v1/uploads`` (ephemeral uploads, with an upload target of its own at ``/_simulator/uploads/{id}``) and
  ``GET /v1/organization`` (a balance that goes down as tasks are charged).

Both: ``POST /v1/{image_to_video,text_to_video,video_to_video,character_performance}``, ``GET`` and ``DELETE
/v1/tasks/{id}``; and ``GET /_simulator/outputs/{id}.mp4`` serving the clips behind signed links that expire like
the real ones (``{id}.wav``, ``.flac`` or ``.mp3`` for a sound). The official dialect also serves the finishing
passes, ``POST /v1/video_upscale`` and ``/v1/video_to_audio``; the proxy's answers them 404, as the proxy does.

Bodies are validated by ``studio.requests`` against the same capability table the studio uses, so a 400 here
carries the same message the studio would have shown before sending; inputs whose length or frame rate upstream
refuses (act_two's reference outside 3-30 s, aleph2's input over 30 fps) are refused when they can be read.
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

from studio.capabilities import API_VERSION, ENDPOINTS, SIMULATED_DIALECTS, SIMULATOR_RUNWAY, ProviderSpec
from studio.errors import InvalidInput
from studio.requests import parse_request
from studio.simulator.config import SimulatorConfig
from studio.simulator.engine import SimTask, TaskEngine
from studio.uris import RUNWAY_URI

OUTPUT_PATH = "/_simulator/outputs"
UPLOAD_PATH = "/_simulator/uploads"
OUTPUT_TYPES = {".mp4": "video/mp4", ".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg"}


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
            ending = engine.output_suffix(task)
            return f"{root}{OUTPUT_PATH}/{task.id}{ending}?expires={expires}&sig={sign(task.id, expires)}"

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
        if (refused := _version_refused(request)) is not None:
            return refused
        if (fault := await injected(faults.take_create_status())) is not None:
            return fault
        provider = dialect(request)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        try:
            # Off the event loop: checking a 16 MiB data URI takes ~40 ms, and the embedded simulator shares the
            # studio's loop with every visitor.
            validated = await asyncio.to_thread(parse_request, endpoint, body, provider=provider)
            read = await asyncio.to_thread(engine.check_videos, validated, provider)
        except InvalidInput as err:
            return _invalid(err)
        task = engine.create(validated, provider=provider, authorization=authorization, inputs=read)
        return JSONResponse({"id": task.id, "estimatedCost": {"credits": task.estimated_credits}})

    async def get_task(request: HttpRequest) -> Response:
        if _bearer(request) is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        due = faults.take_read_status() or faults.read_outage(engine.clock())
        if (fault := await injected(due)) is not None:
            return fault
        engine.sweep()  # expired clips and uploads go (at most once a minute)
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
        task = engine.tasks.get(request.path_params["name"].split(".", 1)[0])
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
        return FileResponse(path, media_type=OUTPUT_TYPES.get(path.suffix, "application/octet-stream"))

    async def start_upload(request: HttpRequest) -> Response:
        if _bearer(request) is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        if (refused := _version_refused(request)) is not None:
            return refused
        try:
            body = json.loads(await request.body())
            filename, kind = str(body["filename"]), body.get("type", "ephemeral")
        except (ValueError, KeyError, TypeError):
            return _error(400, 'Send {"filename": "...", "type": "ephemeral"}.')
        if kind != "ephemeral":
            return _error(400, "Only ephemeral uploads are supported.")
        upload = engine.start_upload(filename)
        root = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "uploadUrl": f"{root}{UPLOAD_PATH}/{upload.id}",
                "fields": {"key": upload.id, "signature": upload.signature},
                "runwayUri": f"{RUNWAY_URI}uploads/{upload.id}",
            }
        )

    async def receive_upload(request: HttpRequest) -> Response:
        """The upload target: a multipart form of the announced ``fields`` and the ``file`` (no API key)."""
        upload = engine.uploads.get(request.path_params["upload_id"])
        form = await request.form()  # Starlette spools the file to disk as it arrives
        file = form.get("file")
        if upload is None or form.get("signature") != upload.signature or isinstance(file, str) or file is None:
            return Response("Unknown upload, wrong signature, or no file.", status_code=403, media_type="text/plain")
        limits = SIMULATOR_RUNWAY.limits
        if not limits.upload_min_bytes <= (file.size or 0) <= limits.upload_max_bytes:
            return _error(400, f"An upload is {limits.upload_min_bytes} bytes to {limits.upload_max_bytes} bytes.")
        await asyncio.to_thread(engine.receive_upload, upload, file.file)
        return Response(status_code=204)

    async def organization(request: HttpRequest) -> Response:
        if _bearer(request) is None:
            return _error(401, "Missing API key. Send the header Authorization: Bearer <key>.")
        if (refused := _version_refused(request)) is not None:
            return refused
        return JSONResponse(engine.organization(SIMULATOR_RUNWAY))

    routes: list[Route] = []
    for prefix in SIMULATED_DIALECTS:
        # Only the endpoints this dialect's table serves: the proxy has no finishing passes, so they are 404 there.
        served = [endpoint for endpoint in ENDPOINTS if SIMULATED_DIALECTS[prefix].models_for(endpoint)]
        routes += [Route(f"{prefix}/v1/{endpoint}", create, methods=["POST"]) for endpoint in served]
        routes += [
            Route(f"{prefix}/v1/tasks/{{task_id}}", get_task, methods=["GET"]),
            Route(f"{prefix}/v1/tasks/{{task_id}}", delete_task, methods=["DELETE"]),
        ]
    routes += [
        Route("/v1/uploads", start_upload, methods=["POST"]),
        Route("/v1/organization", organization, methods=["GET"]),
        Route(f"{UPLOAD_PATH}/{{upload_id}}", receive_upload, methods=["POST"]),
        Route(f"{OUTPUT_PATH}/{{name}}", output, methods=["GET"]),
    ]
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


def dialect(request: HttpRequest) -> ProviderSpec:
    """Whose rules a request is served under: the proxy's below /runwayml, the official API's below /v1."""
    prefix = next((p for p in SIMULATED_DIALECTS if p and request.url.path.startswith(p + "/")), "")
    return SIMULATED_DIALECTS[prefix]


def _version_refused(request: HttpRequest) -> Response | None:
    """The official API refuses a call without the X-Runway-Version header; the proxy does not ask for it."""
    if dialect(request).organization and not request.headers.get("x-runway-version"):
        return _error(400, f"The X-Runway-Version header is required (for example {API_VERSION}).")
    return None


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return header if scheme.lower() == "bearer" and token.strip() else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _invalid(err: InvalidInput) -> JSONResponse:
    issues = [{"code": "invalid", "path": list(i.path), "message": str(i.message)} for i in err.issues]
    return JSONResponse({"error": "Invalid input", "issues": issues}, status_code=400)
