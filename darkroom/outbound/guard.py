"""The SSRF guard: resolve a URL's host once, refuse forbidden addresses, and pin the
request to the address that was checked, so that a second lookup (DNS rebinding) cannot
answer differently."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from darkroom.outbound.addresses import AllowList, IPAddress, normal_host, refusal_reason
from darkroom.outbound.deadline import DeadlineTransport

Resolver = Callable[[str, int], list[IPAddress]]


class ForbiddenDestination(Exception):
    code = "forbidden_destination"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unresolvable(ForbiddenDestination):
    """The host did not resolve: perhaps for now only, so not a refusal to remember."""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to. Numeric forms (``2130706433``, ``0x7f.1``) come
    back as the address they stand for, without a query."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host!r}: {exc}") from exc
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Destination:
    """Where to send a request: the checked address, and the name to present to it."""

    url: httpx.URL  # the original URL with its host replaced by the address
    host_header: str
    server_name: str  # for TLS: certificate checked against the original name
    address: IPAddress

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host_header}

    @property
    def extensions(self) -> dict[str, str]:
        """httpx request extensions: TLS presents and verifies the original name."""
        return {"sni_hostname": self.server_name}


class OutboundGuard:
    def __init__(self, allow: AllowList, resolver: Resolver = resolve) -> None:
        self.allow = allow
        self.resolver = resolver

    def check(self, url: str | httpx.URL) -> Destination:
        """The destination for ``url``, or ForbiddenDestination saying why not."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ForbiddenDestination(f"not a valid URL: {exc}") from exc
        if parsed.scheme not in ("http", "https"):
            raise ForbiddenDestination(f"only http and https URLs are fetched, not {url!s}")
        if parsed.userinfo:
            raise ForbiddenDestination("URLs with credentials in them are refused")
        host = normal_host(parsed.host)
        if not host:
            raise ForbiddenDestination(f"{url!s} has no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = self.resolver(host, port)
        if not addresses:
            raise Unresolvable(f"{host!r} resolves to no address")
        if not self.allow.allows_host(host):
            for address in addresses:
                reason = refusal_reason(address)
                if reason and not self.allow.allows_address(address):
                    raise ForbiddenDestination(
                        f"{host} resolves to {address}, a {reason} address; "
                        "DARKROOM_OUTBOUND_ALLOW can open it"
                    )
        address = addresses[0]
        return Destination(
            url=parsed.copy_with(host=str(address)),
            host_header=parsed.netloc.decode("ascii"),
            server_name=host,
            address=address,
        )


def outbound_client() -> httpx.Client:
    """The client for guarded requests. It ignores proxy variables: a proxy would make the
    connection, to an address the guard never saw. Its requests keep to the deadline of
    ``with deadline(seconds):`` around them (deadline.py)."""
    return httpx.Client(
        headers={"user-agent": "darkroom"}, trust_env=False, transport=DeadlineTransport()
    )
