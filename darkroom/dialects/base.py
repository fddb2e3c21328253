"""What every drop-in dialect is made of: a router answering another system's routes,
field names, status words and error bodies over darkroom's job service, the variables
that system read, and optionally the body of its webhook."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException

from darkroom.jobs.effects import EffectHandler
from darkroom.jobs.errors import NotFound, ServiceError
from darkroom.jobs.model import Job
from darkroom.service import JobService
from darkroom.store.migrate import Schema

# The label every job a dialect submits carries: the dialect's name.
DIALECT_LABEL = "dialect"

ErrorResponder = Callable[[Exception], Response]
# What remains of a UTF-16 surrogate once JSON's escapes are decoded (Python's parser
# joins a proper pair into one character): a lone one, which text can't be encoded with.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# What a dialect's routes answer in their own shape.
_ANSWERED = (RequestValidationError, ValidationError, ServiceError, HTTPException)


class Service(Protocol):
    """Something a dialect runs in every darkroom process (seed 001's task queue
    consumer), started and stopped with it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class MountedRouter:
    """One of a dialect's module-level routers, and the prefix the app includes it under."""

    router: APIRouter
    prefix: str


class Dialect(Protocol):
    name: str  # as DARKROOM_DIALECTS names it
    seed: str  # the document in ../shared/seeds/ it follows
    default_prefix: str  # where its routes go unless DARKROOM_DIALECTS says otherwise
    schema: Schema | None  # its own tables and migrations, if it keeps records

    def settings(self) -> dict[str, Any]:
        """darkroom settings its system's variables stand for (``{"port": 8080}``); a
        None value (the variable is not set) is left alone."""
        ...

    def routers(self, prefix: str) -> Sequence[MountedRouter]:
        """Its routers, each with where to include it, when DARKROOM_DIALECTS mounts it
        at ``prefix``. Their routes reach this instance through ``enabled_dialect``."""
        ...

    def webhook_body(self, event: str, job: Job, link_base: str) -> bytes | None:
        """The body its system POSTed for ``job``; None: darkroom's own."""
        ...

    def background(self, service: JobService) -> Sequence[Service]:
        """What it runs in every darkroom process: consumers of its system's queue and
        schedulers, which only submit jobs."""
        ...

    def effects(self, service: JobService) -> Mapping[str, EffectHandler]:
        """By effect name, what carries out the effects its jobs name (jobs/effects.py):
        its system's record of the outcome."""
        ...


class SeedVariables(BaseModel):
    """A seed's environment variables, read by their own names from a mapping; values
    that do not parse are refused at start-up, with the variable's name."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False, frozen=True)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Any:
        names = {field.alias or name for name, field in cls.model_fields.items()}
        present = {k: v for k, v in environ.items() if k in names and v.strip() != ""}
        return cls.model_validate(present)


DialectT = TypeVar("DialectT")


def enabled_dialect(request: Request, name: str, kind: type[DialectT]) -> DialectT:
    """The app's instance of dialect ``name``, for its routes' dependencies;
    registry.install keeps the enabled dialects by name in ``app.state.dialects``."""
    dialect = request.app.state.dialects[name]
    if not isinstance(dialect, kind):
        raise TypeError(f"dialect {name!r} is a {type(dialect).__name__}, not a {kind.__name__}")
    return dialect


def route_class(respond: ErrorResponder) -> type[APIRoute]:
    """Routes whose validation and service errors answer in the dialect's own shape."""

    class DialectRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except (
                    RequestValidationError,
                    ValidationError,
                    ServiceError,
                    HTTPException,
                ) as exc:
                    return respond(exc)

            return handle

    return DialectRoute


def error_responses(model: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """A dialect route's ``responses``: its system's error body, ``model``, at each of
    ``statuses`` (OpenAPI; darkroom leaves out FastAPI's stock 422, api/openapi.py)."""
    return {status: {"model": model} for status in statuses}


class BadRequest(ServiceError):
    status_code = 400
    code = "invalid_request"


class DialectDefaults:
    """What a dialect does unless it says otherwise: no settings of darkroom's from its
    variables, darkroom's own webhook body, nothing run in the background, no effects."""

    default_prefix = ""
    schema: Schema | None = None

    def settings(self) -> dict[str, Any]:
        return {}

    def webhook_body(self, event: str, job: Job, link_base: str) -> bytes | None:
        return None

    def background(self, service: JobService) -> Sequence[Service]:
        return []

    def effects(self, service: JobService) -> Mapping[str, EffectHandler]:
        return {}


def field_message(exc: RequestValidationError | ValidationError) -> str:
    """``field: what is wrong``, of the first validation error."""
    field, _kind, message = first_problem(exc)
    return f"{field}: {message}" if field else message


def message_errors(
    body: Callable[[str, int], dict[str, Any]],
    describe: Callable[[RequestValidationError | ValidationError], str] = field_message,
    status_of: Callable[[ServiceError], int] = lambda exc: exc.status_code,
) -> ErrorResponder:
    """Errors as ``body(message, status)``: validation errors 400 with ``describe``'s
    message, service errors with ``status_of``'s status, HTTP errors with their own."""

    def respond(exc: Exception) -> Response:
        if isinstance(exc, RequestValidationError | ValidationError):
            return JSONResponse(body(describe(exc), 400), 400)
        if isinstance(exc, ServiceError):
            status = status_of(exc)
            # a 503 busy's Retry-After (api/variant_gate.py)
            return JSONResponse(body(exc.message, status), status, getattr(exc, "headers", None))
        assert isinstance(exc, HTTPException)
        return JSONResponse(body(str(exc.detail), exc.status_code), exc.status_code)

    return respond


def first_problem(exc: RequestValidationError | ValidationError) -> tuple[str, str, str]:
    """The first validation error as (field, pydantic type, message); the field is the
    body's JSON name ("" for the body itself)."""
    error = exc.errors()[0]
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    return ".".join(loc), str(error.get("type", "")), str(error.get("msg", ""))


def multipart_body(properties: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    """A route's ``openapi_extra`` for a required multipart/form-data body of these
    fields (for routes that read their form themselves)."""
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (JSON's ``"\\ud800"``, which the parser takes)
    as U+FFFD, as Go's JSON decoder and JavaScript's UTF-8 encoding left it: neither
    UTF-8 nor the databases hold one, so a 500 otherwise."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def replace_in_json(value: Any) -> Any:
    """``replace_lone_surrogates`` on every string (keys too) of a JSON value."""
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_in_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_in_json(v) for v in value]
    return value


def refuse_nul(text: str) -> str:
    """``text``, or a validation error (its system's 400) if it holds a NUL, which
    PostgreSQL refuses in text."""
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "must not contain a NUL character")
    return text


# A JSON string field: lone surrogates as U+FFFD; with ``StoredText``, a NUL refused too.
JsonText = Annotated[str, AfterValidator(replace_lone_surrogates)]
StoredText = Annotated[str, AfterValidator(replace_lone_surrogates), AfterValidator(refuse_nul)]


def rfc3339(ts: float | None) -> str | None:
    """UTC, to the second: 2026-02-23T10:00:00Z."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc(ts: float) -> str:
    """UTC with microseconds, as pydantic writes an aware datetime: …T10:00:00.123456Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def own_job(service: JobService, job_id: str, dialect: str, not_found: str) -> Job:
    """The job, if ``dialect`` submitted it; any other is NotFound(``not_found``), as an
    unknown or expired one is."""
    try:
        job = service.get(job_id)
    except NotFound as exc:
        raise NotFound(not_found) from exc
    if job.labels.get(DIALECT_LABEL) != dialect:
        raise NotFound(not_found)
    return job


# The media type of each source format whose name does not make one as image/<format>.
_SOURCE_MEDIA_TYPES = {"svg": "image/svg+xml", "ico": "image/vnd.microsoft.icon"}


def source_media_type(source_format: str) -> str:
    """The media type of a source format darkroom reads (a source's facts' ``format``)."""
    return _SOURCE_MEDIA_TYPES.get(source_format, f"image/{source_format}")
