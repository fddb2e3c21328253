"""A deadline for a whole outbound request: connect, TLS, sending, every redirect and the
whole body.

httpx's timeouts bound each network operation, not the request: a server that sends one
byte a second never trips a 20 s read timeout. Requests made with ``outbound_client()``
inside ``with deadline(seconds):`` have every operation's timeout cut to what is left of
the deadline, and fail with a timeout (``httpx.TimeoutException``) once it has passed.
The deadline is held in a context variable: httpx's synchronous client does its network
I/O in the calling thread, so the requests of other threads keep their own.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("darkroom_outbound_deadline", default=None)

# A write is sent in pieces of at most this size, each given what is left of the deadline:
# a receiver that reads slowly cannot hold one write for longer.
_WRITE_PIECE = 16 * 1024

_TimeoutError = type[httpcore.TimeoutException]


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every network operation of an outbound request made inside ends within ``seconds``
    of now (or of an enclosing deadline, when that is sooner). Yields the deadline, a
    ``time.monotonic()`` value."""
    at = time.monotonic() + seconds
    outer = _DEADLINE.get()
    if outer is not None:
        at = min(at, outer)
    token = _DEADLINE.set(at)
    try:
        yield at
    finally:
        _DEADLINE.reset(token)


def _left(timeout: float | None, error: _TimeoutError) -> float | None:
    """``timeout`` cut to what is left of the current deadline; ``error`` once none is."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation keeps to the deadline of the request using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        for start in range(0, len(view), _WRITE_PIECE):
            piece = bytes(view[start : start + _WRITE_PIECE])
            self.stream.write(piece, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # Python's TLS handshake keeps to its socket timeout as a whole, not per read
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> typing.Any:
        return self.stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own backend, its connections wrapped in ``DeadlineStream``."""

    def __init__(self) -> None:
        self.backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        stream = self.backend.connect_tcp(host, port, left, local_address, socket_options)
        return DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport (no proxy, certificates from the system's defaults), its
    connections made by ``DeadlineBackend``. httpx takes no network backend of its own, so
    the connection pool is made again with one, with httpx's default limits."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=DeadlineBackend(),
        )
