"""Every error answers ``{"error": {"code", "message", "details"}}`` with its HTTP status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from darkroom.jobs.errors import InsufficientStorage, ServiceError
from darkroom.jobs.space import out_of_space


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = jsonable_encoder(details)
    return {"error": body}


def validation_details(exc: ValidationError | RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def why_invalid(what: str, details: list[dict[str, Any]]) -> str:
    """``what`` is not valid, and why: the first field at fault and what is wrong with it
    (``details`` lists them all), so that a person reading the message need look no further."""
    if not details:
        return f"{what} is not valid"
    first = details[0]
    field = ".".join(str(part) for part in first["loc"] if part != "body") or "the body"
    more = f" (and {len(details) - 1} more: see details)" if len(details) > 1 else ""
    return f"{what} is not valid: {field}: {first['msg']}{more}"


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),  # WWW-Authenticate of a 401 (api/auth.py)
        )

    # A write refused for want of space wherever a route meets it (a full disk, SQLite's
    # "database or disk is full": jobs/space.py) is a 507; any other error stays a 500.
    @app.exception_handler(OSError)
    @app.exception_handler(DBAPIError)
    async def _no_space(request: Request, exc: Exception) -> JSONResponse:
        if not out_of_space(exc):
            raise exc
        return await _service_error(request, InsufficientStorage())

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc)
        return JSONResponse(
            error_body("invalid_request", why_invalid("the request", details), details),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code == 400:  # FastAPI or Starlette could not parse the body
            problem = f"the request body could not be read: {exc.detail}"
            return JSONResponse(error_body("invalid_request", problem), status_code=422)
        headers = exc.headers
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers = {**(headers or {}), "Allow": allowed}
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers, for a 405's ``Allow``: Starlette's 405
    names only the methods of the first route whose path matched, where several routes
    share a path (GET and POST /v1/jobs)."""
    routes = request.app.routes
    return ", ".join(
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


# What a 405's Allow may name.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": "Error; see `error.code`.",
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }
