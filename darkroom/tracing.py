"""OpenTelemetry traces of jobs, when the standard OTEL_* variables ask for them and the
``darkroom[otel]`` packages are installed (docs/operations.md, "Traces").

Off, this module imports nothing of OpenTelemetry and its helpers do nothing. On, each
process (the API's, each worker's) has its own tracer provider; a job's trace crosses the
queue as the W3C ``traceparent`` stored in its spec."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger("darkroom.tracing")

Value = str | int | float | bool | Sequence[str] | Sequence[int] | Sequence[float] | None
P = ParamSpec("P")
R = TypeVar("R")

ATTRIBUTE_PREFIX = "darkroom."
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def provider() -> TracerProvider | None:
    """This process's tracer provider; None while traces are off."""
    return _provider


def exporter_names() -> list[str]:
    """The exporters the OTEL_* variables ask for: OTEL_TRACES_EXPORTER's, else ``otlp``
    where an OTLP endpoint is set; none when OTEL_SDK_DISABLED is true."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return [n.strip() for n in named.split(",") if n.strip() and n.strip() != "none"]
    return ["otlp"] if any(os.environ.get(v) for v in _ENDPOINT_VARIABLES) else []


def setup_from_env(role: str) -> None:
    """Start traces in this process if the OTEL_* variables ask for them. ``role``: which
    darkroom process this is (``api``, ``worker``), a resource attribute. A process whose
    traces are already set up keeps them."""
    if _tracer is not None:
        return
    names = exporter_names()
    if not names:
        return
    try:
        exporters = [_exporter(name) for name in names]
    except ImportError as exc:
        log.warning(
            "OTEL_* variables are set but OpenTelemetry is not installed "
            "(pip install 'darkroom[otel]'); traces are off",
            extra={"error": str(exc)},
        )
        return
    setup(role, [e for e in exporters if e is not None], batch=True)


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        )
        if protocol == "grpc":  # opentelemetry-exporter-otlp-proto-grpc, installed apart
            grpc = importlib.import_module("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
            over_grpc: SpanExporter = grpc.OTLPSpanExporter()
            return over_grpc
        # endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_*
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    log.warning("unknown OTEL_TRACES_EXPORTER; ignored", extra={"exporter": name})
    return None


def setup(role: str, exporters: Sequence[SpanExporter], *, batch: bool = False) -> None:
    """Start traces in this process, sent to ``exporters``: in batches from a thread
    (``batch``), or each span as it ends (what tests read). Replaces any set up before.
    The resource and sampler follow OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
    OTEL_TRACES_SAMPLER; the service is named ``darkroom`` when they name none."""
    global _provider, _tracer
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from darkroom import __version__

    shutdown()
    resource = Resource.create({"darkroom.process": role})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "darkroom"}))
    made = TracerProvider(resource=resource)
    for exporter in exporters:
        made.add_span_processor(
            BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        )
    _provider = made
    _tracer = made.get_tracer("darkroom", __version__)


def shutdown() -> None:
    """Send what is pending and stop traces in this process."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


class SpanNotes:
    """What can be added to a running span; nothing happens while traces are off."""

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def set(self, **attributes: Value) -> None:
        if self._span is not None:
            self._span.set_attributes(_named(attributes))

    def event(self, name: str, **attributes: Value) -> None:
        if self._span is not None:
            self._span.add_event(name, _named(attributes))

    def fail(self, code: str, message: str) -> None:
        """Mark the span failed with darkroom's error code (jobs/failures.py)."""
        if self._span is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attributes(_named({"error_code": code}))
            self._span.set_status(Status(StatusCode.ERROR, f"{code}: {message}"))


_OFF = SpanNotes(None)


def _named(attributes: dict[str, Value]) -> dict[str, str | int | float | bool | list[str]]:
    named: dict[str, str | int | float | bool | list[str]] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            named[ATTRIBUTE_PREFIX + key] = value
        else:
            named[ATTRIBUTE_PREFIX + key] = [str(v) for v in value]
    return named


@contextmanager
def span(name: str, *, parent: str | None = None, **attributes: Value) -> Iterator[SpanNotes]:
    """A span around the block, a child of the current one, or of ``parent`` (a W3C
    traceparent) when given; each attribute is named ``darkroom.<name>``. An exception
    leaving the block is recorded on it."""
    if _tracer is None:
        yield _OFF
        return
    with _tracer.start_as_current_span(
        name, context=extract(parent), attributes=_named(attributes)
    ) as current:
        yield SpanNotes(current)


def traced(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A span named ``name`` around each call of the decorated function."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _tracer is None:
                return function(*args, **kwargs)
            with span(name):
                return function(*args, **kwargs)

        return call

    return decorate


def current() -> SpanNotes:
    """The running span, to add to."""
    if _tracer is None:
        return _OFF
    from opentelemetry import trace

    return SpanNotes(trace.get_current_span())


def inject() -> str | None:
    """The running span's W3C traceparent; None while traces are off or none runs."""
    if _tracer is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def extract(traceparent: str | None) -> Context | None:
    """The context a W3C traceparent names, to start spans under; None without one."""
    if _tracer is None or not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})
