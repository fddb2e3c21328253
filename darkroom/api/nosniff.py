"""``X-Content-Type-Options: nosniff`` on every HTTP response, the native API's and the
dialects' alike: a browser then takes served bytes for the declared Content-Type only and
never sniffs an output or an error body into HTML or script (docs/security.md).

A plain ASGI middleware: it adds the one header to the response's start message and
leaves the status, the other headers and the body as the route made them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NAME = b"x-content-type-options"
HEADER = (NAME, b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == NAME for name, _value in headers):
                    headers.append(HEADER)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)
