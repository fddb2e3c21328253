"""Request bodies are bounded before they are held whole (docs/security.md, "Request
limits"): every body the native API or a dialect reads, JSON or otherwise, may hold at
most DARKROOM_MAX_JSON_BYTES; a multipart upload, whose files are written to disk as
they arrive (api/upload_stream.py for the native API, Starlette's spooled files for the
dialects), is let run further by the route that parses it (``accept_upload``).

A plain ASGI middleware: it wraps ``receive``, so a declared ``Content-Length`` over the
limit is refused before a byte is read, and a body without one (chunked) is counted as
it streams in and refused as soon as it passes the limit. The refusal is raised from
``receive`` inside the route that reads the body, so each answers 413 in its own shape:
the native API ``payload_too_large`` (api/errors.py), a dialect as its system did
(dialects/base.route_class). What is left of a refused body the server reads and drops."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "darkroom.body_limit"


class BodyTooLarge(HTTPException):
    """413: the request's body is over its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


@dataclass
class _Budget:
    """One request's body limit (None: none), its declared length and what came so far."""

    limit: int | None
    declared: int | None
    received: int = 0

    def check(self) -> None:
        if self.limit is None:
            return
        if self.received > self.limit or (self.declared is not None and self.declared > self.limit):
            raise BodyTooLarge(self.limit)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = _Budget(self.max_bytes, _declared_length(scope))
        scope[SCOPE_KEY] = budget

        async def receive_within() -> Message:
            budget.check()  # a declared length over the limit: before anything is read
            message = await receive()
            if message["type"] == "http.request":
                budget.received += len(message.get("body", b""))
                budget.check()
            return message

        await self.app(scope, receive_within, send)


def accept_upload(request: Request, max_bytes: int | None) -> None:
    """Let this request's body run to ``max_bytes`` (None: no limit here) instead of the
    JSON limit, if it is a multipart upload: for the routes that parse one file by file
    to disk (``request.form()``'s spooled files, api/upload_stream.py), not in memory. Any other
    body (url-encoded forms are held whole) keeps the JSON limit. Raises BodyTooLarge at
    once for a declared length over the limit."""
    budget = request.scope.get(SCOPE_KEY)
    if not isinstance(budget, _Budget):
        return  # not behind BodyLimit
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        budget.limit = max_bytes
    budget.check()
