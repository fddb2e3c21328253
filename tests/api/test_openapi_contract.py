"""The OpenAPI schema is the contract: schemathesis generates requests from the schema a
running `darkroom serve` serves (/openapi.json), sends them to it over HTTP and checks each
answer against it, for the native API and for a service that speaks all five dialects
(imagejobs with a real Redis for its task queue; without R2 variables it keeps images in
darkroom's own store). No workers run: the subject is what the routes answer, not the jobs.
The cases are made when the tests are collected, from the same app as the service serves
(pytest's parametrization needs them then); each served schema is checked to be that one.

The checks: no server error, every status code documented, the Content-Type and the body
as documented, and a 405's ``Allow`` naming exactly the path's documented methods. Not
run: positive_data_acceptance, which expects any schema-valid request to succeed (a valid
request here names an image or a job that exists, which a schema cannot say), and
negative_data_rejection (the dialects accept what the systems they replace accepted)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from darkroom.app import create_app
from darkroom.config import Settings
from darkroom.dialects.registry import enabled, with_seed_settings
from tests.helpers import DarkroomProcess, darkroom_env, free_port, on_sqlite
from tests.servers import Redis

DIALECTS = {"DARKROOM_DIALECTS": "smartcrop,imagejobs,greenvue,imageproc@/go,thumbforge"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    allow_header_conformance,
]
# Where a check's finding is not a fault of the service, that check is left out for that
# operation only, and why:
EXCLUDED = {
    # /api/image-jobs/stats is also an id to /api/image-jobs/{job_id}, whose DELETE answers
    # it (400 "Invalid ID format", as the system did): Allow names DELETE rightly.
    "GET /api/image-jobs/stats": {allow_header_conformance},
    # likewise /v1/images/batch is a job id to thumbforge's GET /v1/images/{job_id} (422).
    "POST /v1/images/batch": {allow_header_conformance},
}
# Each operation is tried with this few generated cases (and schemathesis's own examples
# and boundary cases), in the same order every run.
SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _app(env: dict[str, str]) -> FastAPI:
    """darkroom's app as `darkroom serve` makes it from ``env`` (its lifespan not run)."""
    with mock.patch.dict(os.environ, env, clear=True):
        config = Settings()
    dialects = enabled(config.dialects, env)
    return create_app(with_seed_settings(config, dialects), dialects=dialects, consumers=False)


def _schema(**env: str) -> Any:
    """The schema the app made from ``env`` serves. This app is never started: its data
    folder could not be made."""
    app = _app(darkroom_env(Path(os.devnull) / "never-started", **env))
    return schemathesis.openapi.from_dict(app.openapi())


native = _schema()
all_dialects = _schema(**DIALECTS)


def _served(folder: Path, schema: Any, **env: str) -> Iterator[DarkroomProcess]:
    """`darkroom serve --workers 0` on ``env``, once its schema is found to be ``schema``."""
    port = free_port()
    server = DarkroomProcess(
        args=["serve", "--port", str(port), "--workers", "0"],
        env=darkroom_env(folder / "data", **env),
        log_path=folder / "serve.log",
        port=port,
    ).start()
    try:
        assert server.client.get("/openapi.json").json() == schema.raw_schema
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def native_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DarkroomProcess]:
    yield from _served(tmp_path_factory.mktemp("native"), native)


@pytest.fixture(scope="module")
def dialects_server(
    tmp_path_factory: pytest.TempPathFactory, redis_server: Redis
) -> Iterator[DarkroomProcess]:
    yield from _served(
        tmp_path_factory.mktemp("dialects"),
        all_dialects,
        **DIALECTS,
        REDIS_URI=redis_server.url,
        IMAGE_JOBS_QUEUE=redis_server.new_stream(),
    )


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """One pooled HTTP client for every case, as an application would use."""
    with requests.Session() as pooled:
        yield pooled


LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens, nothing is sent elsewhere


def _on_loopback(value: Any) -> Any:
    """``value`` with every http(s) URL in it sent to loopback: the outbound guard looks a
    URL's host up in DNS at submission, and a test reaches nothing but loopback. No worker
    runs, so nothing is fetched from there either."""
    if isinstance(value, dict):
        return {key: _on_loopback(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_on_loopback(item) for item in value]
    if isinstance(value, str) and "://" in value:
        try:
            parts = urlsplit(value.strip())
        except ValueError:  # "http://[" and the like: refused before any lookup anyway
            return f"http://{LOOPBACK}/"
        if parts.scheme.lower() in ("http", "https"):
            return urlunsplit(parts._replace(netloc=LOOPBACK))
    return value


def _call(case: Any, server: DarkroomProcess, session: requests.Session) -> None:
    case.body = _on_loopback(case.body)
    excluded = EXCLUDED.get(case.operation.label, set())
    checks = [check for check in CHECKS if check not in excluded]
    case.call_and_validate(base_url=server.url, session=session, checks=checks, timeout=30)


@native.parametrize()
@SETTINGS
def test_native_api_answers_as_its_schema_says(
    case: Any, native_server: DarkroomProcess, session: requests.Session
) -> None:
    _call(case, native_server, session)


@all_dialects.parametrize()
@SETTINGS
def test_dialects_answer_as_the_schema_says(
    case: Any, dialects_server: DarkroomProcess, session: requests.Session
) -> None:
    _call(case, dialects_server, session)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), reference  # no other documents
    target: Any = document
    for part in reference[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


@pytest.mark.parametrize("schema", [native, all_dialects], ids=["native", "all-dialects"])
def test_every_reference_resolves(schema: Any) -> None:
    document = schema.raw_schema
    references = set(_references(document))
    assert "#/components/schemas/JobRequest" in references  # the walk finds them
    for reference in sorted(references):
        try:
            _resolve(document, reference)
        except KeyError:
            pytest.fail(f"dangling reference {reference}")
    # FastAPI's stock 422 body is never answered; the routes document their own errors
    assert "HTTPValidationError" not in document["components"]["schemas"]
    errors = document["paths"]["/v1/jobs"]["get"]["responses"]["422"]["content"]
    assert "error" in errors["application/json"]["schema"]["properties"]


@on_sqlite  # the subject is the HTTP answer, not the engines
def test_a_405_names_every_method_of_its_path(api_factory: Any) -> None:
    api = api_factory(workers=0, **DIALECTS)
    for path, allowed in (
        ("/v1/jobs", "GET, POST"),
        ("/v1/jobs/abc", "GET, DELETE"),
        ("/v1/admin/workers", "GET, PUT"),
        ("/api/jobs", "GET, POST"),  # a dialect's (greenvue)
    ):
        answer = api.client.patch(path)
        assert answer.status_code == 405, path
        assert answer.headers["allow"] == allowed, path
        assert answer.json()["error"]["code"] == "method_not_allowed"
