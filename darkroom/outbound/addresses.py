"""Which IP addresses a request may reach, and the operator's allow-list.

A user-supplied URL must not make darkroom talk to itself, to the private network it runs
in or to a cloud provider's metadata service. Every address is checked after resolution,
so that names, decimal or octal forms and IPv6 wrappers of an IPv4 address all reach the
same rule: only globally routable unicast addresses pass, unless the allow-list opens them.
IPv6 tunnel and translation forms are refused outright (``REFUSED_FORMS``).
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

V6 = ipaddress.IPv6Network

# IPv6 ranges that carry an IPv4 address. In the IPv4-mapped form the connection is an IPv4
# one, and the well-known NAT64 prefix is what DNS64 gives every IPv4-only host on an
# IPv6-only network: both are judged by the IPv4 address inside (RFC 6052 forbids NAT64
# for non-global IPv4 addresses, but a gateway may not enforce it).
NAT64 = V6("64:ff9b::/96")
# Tunnels, translations and deprecated forms: refused whatever they carry. Their inner
# address is a tunnel end point or depends on how a site set its translator up, so it does
# not say where the request ends up. DARKROOM_OUTBOUND_ALLOW can open any of them.
REFUSED_FORMS = (
    (V6("::/96"), "IPv4-compatible (::/96, deprecated)"),
    (V6("::ffff:0:0:0/96"), "IPv4-translated (::ffff:0:0:0/96)"),
    (V6("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (V6("2002::/16"), "6to4 tunnel (2002::/16)"),
    (V6("2001::/32"), "Teredo tunnel (2001::/32)"),
    (V6("fec0::/10"), "site-local (fec0::/10, deprecated)"),
    (V6("3fff::/20"), "documentation (3fff::/20)"),  # RFC 9637, newer than some Pythons
)
# The only IPv6 unicast space handed out for the Internet; outside it nothing is routable.
GLOBAL_UNICAST = V6("2000::/3")
# ISATAP interface identifiers (RFC 5214): ::0:5efe:a.b.c.d, or ::200:5efe:a.b.c.d when the
# IPv4 address is a global one (the u/l bit)
ISATAP_IDS = (0x00005EFE, 0x02005EFE)


def reaches_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address that a connection to an IPv4-mapped or NAT64 (well-known prefix)
    address reaches; None for any other address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that carries it: IPv4-mapped, IPv4-compatible,
    IPv4-translated, NAT64 (well-known prefix), 6to4, Teredo (the client) and ISATAP."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    reached = reaches_ipv4(address)
    if reached is not None:
        return reached
    value = int(address)
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 in (0, 0xFFFF0000) and value > 1:  # compatible, translated; not ::, ::1
        return low
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if (value >> 32) & 0xFFFFFFFF in ISATAP_IDS:
        return low
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why a request must not go to ``address``; None when it is a public unicast one.

    An IPv6 address is refused when any IPv4 address it carries is refused. Apart from the
    IPv4-mapped form and the well-known NAT64 prefix (judged by that IPv4 address alone),
    it must also be global unicast itself (``2000::/3``, and none of ``REFUSED_FORMS``)."""
    if address in CLOUD_METADATA:
        return "cloud metadata"
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal_reason(inner)
            if reason:
                return f"{reason} (inside {address})"
            if reaches_ipv4(address) is not None:
                return None
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if isinstance(address, ipaddress.IPv6Address):
        for network, form in REFUSED_FORMS:
            if address in network:
                return form
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    if isinstance(address, ipaddress.IPv6Address) and address not in GLOBAL_UNICAST:
        return "not global unicast"
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
        """Whether a range opens ``address`` or, for an IPv4-mapped or NAT64 one, the IPv4
        address it reaches (a range of tunnel addresses is opened by naming it)."""
        inner = reaches_ipv4(address)
        return any(
            address in network or (inner is not None and inner in network)
            for network in self.networks
        )


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()
