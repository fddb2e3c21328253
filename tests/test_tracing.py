"""OpenTelemetry traces (darkroom/tracing.py): one trace from the submitting request to
the worker's stores, spans sent where the OTEL_* variables say, nothing loaded when off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from darkroom import tracing
from tests.helpers import (
    DarkroomProcess,
    LoopbackServer,
    answer,
    make_image,
    on_sqlite,
    wait_until,
)
from tests.inprocess import InProcessDarkroom

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_TRACEPARENT = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """This process's spans, kept in memory; requested before the app is made."""
    exporter = InMemorySpanExporter()
    tracing.setup("test", [exporter])
    yield exporter
    tracing.shutdown()


def named(spans: list[ReadableSpan], name: str, job_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.name == name
        and (s.attributes or {}).get("darkroom.job_id", job_id) == job_id
        and s.context is not None
    ]


def attempt_of(exporter: InMemorySpanExporter, job_id: str) -> ReadableSpan:
    """The job's attempt span, once it has ended (just after the job's outcome is stored)."""

    def ended() -> ReadableSpan | None:
        found = named(list(exporter.get_finished_spans()), "darkroom.job.attempt", job_id)
        return found[0] if found else None

    found: ReadableSpan = wait_until(ended, 30)
    return found


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


@on_sqlite
def test_a_jobs_trace_runs_from_the_request_to_its_stores(
    exported: InMemorySpanExporter, api_factory: Any, loopback: LoopbackServer
) -> None:
    api: InProcessDarkroom = api_factory(workers=1, DARKROOM_MAX_ATTEMPTS="1")
    spec = {
        "outputs": [
            {"name": "small", "op": "thumbnail", "width": 32, "format": "jpeg"},
            {"name": "wide", "op": "thumbnail", "width": 48, "formats": ["webp", "png"]},
        ]
    }
    resp = api.client.post(
        "/v1/jobs",
        files={"file": ("a.jpg", make_image(96, 64), "image/jpeg")},
        data={"spec": json.dumps(spec)},
        headers={"traceparent": CLIENT_TRACEPARENT},
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert api.wait_job(job_id)["status"] == "succeeded"
    attempt = attempt_of(exported, job_id)
    spans = list(exported.get_finished_spans())

    # the client's trace, through the API, the stored traceparent and the worker
    [submit] = named(spans, "darkroom.job.submit", job_id)
    assert submit.attributes is not None and submit.attributes["darkroom.job_id"] == job_id
    assert submit.context is not None and submit.context.trace_id == int(CLIENT_TRACE, 16)
    http_spans = [s for s in spans if s.context and s.context.trace_id == int(CLIENT_TRACE, 16)]
    assert any(s.name.startswith("POST /v1/jobs") for s in http_spans)
    assert attempt.parent is not None and attempt.parent.span_id == submit.context.span_id
    assert attempt.attributes is not None
    assert attempt.attributes["darkroom.attempt"] == 1
    assert attempt.attributes["darkroom.status"] == "succeeded"

    steps = children(spans, attempt)
    assert sorted(s.name for s in steps) == [
        "darkroom.output.store",
        "darkroom.output.store",
        "darkroom.source.fetch",
        "darkroom.source.render",
    ]
    assert all(s.context and s.context.trace_id == int(CLIENT_TRACE, 16) for s in steps)
    [render] = [s for s in steps if s.name == "darkroom.source.render"]
    made = [dict(e.attributes or {}) for e in render.events if e.name == "output"]
    assert [(e["darkroom.op"], e["darkroom.format"]) for e in made] == [
        ("thumbnail", "jpeg"),
        ("thumbnail", "webp"),
        ("thumbnail", "png"),
    ]
    stores = {
        (s.attributes or {})["darkroom.output"]: (s.attributes or {})["darkroom.formats"]
        for s in steps
        if s.name == "darkroom.output.store"
    }
    assert stores == {"small": ("jpeg",), "wide": ("webp", "png")}

    # a failed attempt: marked failed with darkroom's error code, the failing step too
    loopback.routes["/gone.jpg"] = answer(404)
    failed_id = api.submit({"source": {"url": loopback.url("/gone.jpg")}})["id"]
    failed = api.wait_job(failed_id)
    assert failed["status"] == "failed"
    attempt = attempt_of(exported, failed_id)
    assert attempt.status.status_code is StatusCode.ERROR
    assert attempt.attributes is not None
    assert attempt.attributes["darkroom.error_code"] == failed["error"]["code"]
    [fetch] = children(list(exported.get_finished_spans()), attempt)
    assert (fetch.name, fetch.status.status_code) == ("darkroom.source.fetch", StatusCode.ERROR)


@on_sqlite
def test_worker_processes_send_their_spans_over_otlp(
    serve_factory: Any, loopback: LoopbackServer
) -> None:
    """A started darkroom and its spawned worker send spans to an OTLP/HTTP endpoint (the
    loopback server here), one trace from the API process into the worker's."""
    proc: DarkroomProcess = serve_factory(
        workers=1,
        OTEL_EXPORTER_OTLP_ENDPOINT=loopback.url(""),
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_SERVICE_NAME="darkroom-otlp",
    )
    resp = proc.upload(make_image(64, 48), {"outputs": [{"name": "a", "width": 16}]})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert proc.wait_job(job_id)["status"] == "succeeded"

    def sent() -> dict[str, tuple[str, bytes]] | None:
        """Span name -> (the process that sent it, its trace id), once the store's is in."""
        found: dict[str, tuple[str, bytes]] = {}
        for request in list(loopback.received):
            assert request.path == "/v1/traces"
            export = ExportTraceServiceRequest.FromString(request.body)
            for batch in export.resource_spans:
                resource = {a.key: a.value.string_value for a in batch.resource.attributes}
                assert resource["service.name"] == "darkroom-otlp"
                for scope in batch.scope_spans:
                    for span in scope.spans:
                        found[span.name] = (resource["darkroom.process"], span.trace_id)
        return found if "darkroom.output.store" in found else None

    found = wait_until(sent, 30)
    trace_id = found["darkroom.job.submit"][1]
    assert found["darkroom.job.submit"][0] == "api"
    for name in ("darkroom.job.attempt", "darkroom.source.fetch", "darkroom.output.store"):
        assert found[name] == ("worker", trace_id), name


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_the_otel_variables_choose_the_exporter() -> None:
    code = (
        "from darkroom import tracing\n"
        "tracing.setup_from_env('worker')\n"
        "with tracing.span('darkroom.probe', job_id='j1'):\n"
        "    pass\n"
        "tracing.shutdown()\n"
    )
    out = _python(code, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="darkroom-test")
    span = json.loads(out.stdout)
    assert span["name"] == "darkroom.probe"
    assert span["attributes"] == {"darkroom.job_id": "j1"}
    resource = span["resource"]["attributes"]
    assert resource["service.name"] == "darkroom-test"
    assert resource["darkroom.process"] == "worker"
    assert _python(code, OTEL_TRACES_EXPORTER="none").stdout == ""


def test_with_no_otel_variables_darkroom_loads_none_of_opentelemetry() -> None:
    # FastAPI itself loads OpenTelemetry's API: darkroom must add nothing to it
    code = (
        "import sys\n"
        "def loaded():\n"
        "    return {m for m in sys.modules if m.startswith('opentelemetry')}\n"
        "import darkroom.worker.process\n"
        "assert not loaded(), sorted(loaded())\n"
        "import fastapi\n"
        "before = loaded()\n"
        "import darkroom.app\n"
        "from darkroom import tracing\n"
        "tracing.setup_from_env('api')\n"
        "with tracing.span('x', job_id='j') as s:\n"
        "    s.set(a=1)\n"
        "    tracing.current().fail('c', 'm')\n"
        "assert tracing.inject() is None and not tracing.enabled()\n"
        "print(sorted(loaded() - before))\n"
    )
    assert _python(code).stdout.strip() == "[]"
