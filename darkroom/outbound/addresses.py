"""Which IP addresses a request may reach, and the operator's allow-list.

A user-supplied URL must not make darkroom talk to itself, to the private network it runs
in or to a cloud provider's metadata service. Every address is checked after resolution,
so that names, decimal or octal forms and IPv6 wrappers of an IPv4 address all reach the
same rule: only globally routable unicast addresses pass, unless the allow-list opens them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata and credential services of the large clouds. Most are link-local
# already; they are named first so that the refusal says what was at stake.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that carries it (mapped, NAT64, 6to4, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why a request must not go to ``address``; None when it is a public unicast one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = refusal_reason(inner)
        return f"{reason} (inside {address})" if reason else None
    if address in CLOUD_METADATA:
        return "cloud metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class AllowList:
    """Destinations opened despite the rule above: host names and CIDR ranges."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """``DARKROOM_OUTBOUND_ALLOW``: comma-separated names and CIDR ranges (a bare address
        is a range of one), e.g. ``127.0.0.0/8,::1,images.internal``."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (text or "").split(","):
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(normal_host(entry))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def allows_host(self, host: str) -> bool:
        return normal_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()
