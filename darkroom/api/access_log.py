"""One access log line per HTTP request (method, route, status, duration, request id), its
figures for /metrics, and the request id: taken from ``X-Request-ID`` when it is short and
plain, made up otherwise, returned in the answer's ``X-Request-ID`` and named by every log
line written while the request is served (darkroom/logs.py), the submitted job's worker
lines included (docs/operations.md, "Logs").

A plain ASGI middleware, outermost but for CORS: it times the whole answer, body
included, and reads the matched route's path template from the scope, never the raw path,
so that /metrics holds one series per route."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom import metrics
from darkroom.logs import request_context

log = logging.getLogger("darkroom.access")

HEADER = b"x-request-id"
_ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"  # the route of a request no route matched (a 404)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == HEADER and _ACCEPTED.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return f"{scope.get('root_path', '')}{path}" if isinstance(path, str) else UNMATCHED


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        status = 500  # if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != HEADER
                ]
                headers.append((HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        with request_context(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = route_of(scope)
                method = scope["method"]
                metrics.request_answered(method, route, status, seconds)
                log.info(
                    f"{method} {route} {status}",
                    extra={
                        "method": method,
                        "route": route,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
