"""/dashboard/api/v1/...: the native API, called with the key the dashboard's cookie holds.

The request is handed to the app's router as if sent to /v1/... with that key as its
Authorization header, so each route checks it as it would any caller's; nothing of the
API is repeated here."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from darkroom.jobs.errors import ServiceError

# Requests that change something must carry this header: a form or a link on another
# site cannot send it, whatever a browser does with the cookie.
SAFE_METHODS = {"GET", "HEAD"}
CHANGE_HEADER = b"x-darkroom-dashboard"


class Forwarded(Response):
    """A response that is the API's own answer to ``path`` (relative to /v1)."""

    def __init__(self, path: str, key: str | None) -> None:
        super().__init__()
        self.path = path
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in SAFE_METHODS and not any(
            name == CHANGE_HEADER for name, _ in scope["headers"]
        ):
            raise ServiceError(
                "the dashboard's changes carry X-Darkroom-Dashboard",
                code="forbidden",
                status_code=403,
            )
        if ".." in self.path.split("/"):
            raise ServiceError("no such route", code="not_found", status_code=404)
        headers = [(n, v) for n, v in scope["headers"] if n not in (b"authorization", b"x-api-key")]
        if self.key is not None:
            headers.append((b"authorization", f"Bearer {self.key}".encode()))
        path = "/v1/" + self.path
        inner = {
            key: value
            for key, value in scope.items()
            if key
            not in (
                "route",
                "endpoint",
                "path_params",
                "fastapi_inner_astack",
                "fastapi_function_astack",
            )
        }
        inner.update(
            path=scope.get("root_path", "") + path,
            raw_path=(scope.get("root_path", "") + path).encode(),
            headers=headers,
        )
        await scope["app"].router(inner, receive, send)
