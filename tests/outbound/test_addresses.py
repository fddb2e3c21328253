"""The address rule and the guard, checked without sending a request anywhere."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from darkroom.outbound import AllowList, ForbiddenDestination, OutboundGuard, refusal_reason
from darkroom.outbound.addresses import IPAddress

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "10.1.2.3": "private",
    "172.16.0.9": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.1.2.3": "multicast",
    "ff02::1": "multicast",
    "169.254.169.254": "cloud metadata",
    "169.254.170.2": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "100.64.0.1": "not globally routable",  # carrier-grade NAT
    "192.0.2.10": "private",  # documentation range
    # IPv6 wrappers of IPv4 addresses: the inner address decides
    "::ffff:127.0.0.1": "loopback (inside ::ffff:7f00:1)",
    "::ffff:169.254.169.254": "cloud metadata (inside ::ffff:a9fe:a9fe)",
    "64:ff9b::a9fe:a9fe": "cloud metadata (inside 64:ff9b::a9fe:a9fe)",
    "2002:c0a8:101::1": "private (inside 2002:c0a8:101::1)",
}

PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_refused_classes(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_teredo_carries_its_client_address() -> None:
    # Teredo server 65.54.227.120, client 192.168.1.1 (obfuscated as its complement)
    teredo = ipaddress.ip_address("2001:0:4136:e378:8000:63bf:3f57:fefe")
    assert refusal_reason(teredo) == f"private (inside {teredo})"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2852039166/latest/meta-data/", "cloud metadata"),  # decimal 169.254.169.254
        ("http://0251.0376.0251.0376/", "not a valid URL"),  # octal: httpx refuses it
        ("http://0x7f.1/", "loopback"),  # hexadecimal, short form
        ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
        ("http://[::1]:8080/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("https://localhost/", "loopback"),
        ("http://LOCALHOST./x", "loopback"),
    ],
)
def test_guard_resolves_every_spelling_before_checking(url: str, reason: str) -> None:
    """The system resolver turns these spellings into addresses without a query."""
    with pytest.raises(ForbiddenDestination) as refused:
        OutboundGuard(AllowList()).check(url)
    assert reason in refused.value.message
    assert refused.value.code == "forbidden_destination"


def _resolving(answers: dict[str, list[str]]) -> OutboundGuard:
    def resolver(host: str, _port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in answers[host]]

    return OutboundGuard(AllowList(), resolver=resolver)


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    guard = _resolving(
        {
            "intranet.example": ["10.0.0.5"],
            "mixed.example": ["93.184.215.14", "10.0.0.5"],
            "public.example": ["93.184.215.14"],
        }
    )
    for host in ("intranet.example", "mixed.example"):
        with pytest.raises(ForbiddenDestination, match="private"):
            guard.check(f"https://{host}/a.jpg")
    destination = guard.check("https://public.example:8443/a.jpg?x=1")
    assert str(destination.url) == "https://93.184.215.14:8443/a.jpg?x=1"
    assert destination.headers == {"Host": "public.example:8443"}
    assert destination.extensions == {"sni_hostname": "public.example"}


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "http://user:pw@example.com/"]
)
def test_other_schemes_and_credentials_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenDestination):
        _resolving({}).check(url)


def test_allow_list_opens_hosts_and_ranges() -> None:
    allow = AllowList.parse(" 127.0.0.0/8, ::1 ,Images.Internal., 10.9.8.7")
    assert allow.allows_host("images.internal")
    assert allow.allows_address(ipaddress.ip_address("127.4.5.6"))
    assert allow.allows_address(ipaddress.ip_address("::1"))
    assert allow.allows_address(ipaddress.ip_address("10.9.8.7"))
    assert not allow.allows_address(ipaddress.ip_address("10.9.8.8"))
    guard = OutboundGuard(allow)
    assert str(guard.check("http://127.0.0.1:9/x").address) == "127.0.0.1"
    with pytest.raises(ForbiddenDestination, match="link-local"):
        guard.check("http://169.254.1.1/")
    assert AllowList.parse("") == AllowList()


# IPv6 forms that carry an IPv4 address, each with what it is refused as when the IPv4
# address inside is a public one (None: then it passes). With a refused IPv4 address inside,
# every form but local-use NAT64 (whose layout a site chooses) names that address's class.
def _teredo(client: ipaddress.IPv4Address) -> str:
    server = int(ipaddress.IPv4Address("65.54.227.120"))
    flags_port = 0x8000_63BF  # cone flag, obfuscated port
    value = (0x2001_0000 << 96) | (server << 64) | (flags_port << 32) | (int(client) ^ 0xFFFFFFFF)
    return str(ipaddress.IPv6Address(value))


def _hex(v4: ipaddress.IPv4Address) -> str:
    return f"{int(v4) >> 16:x}:{int(v4) & 0xFFFF:x}"


EMBEDDING_FORMS: dict[str, tuple[Callable[[ipaddress.IPv4Address], str], str | None]] = {
    "mapped": (lambda v4: f"::ffff:{v4}", None),
    "compatible": (lambda v4: f"::{v4}", "IPv4-compatible (::/96, deprecated)"),
    "translated": (lambda v4: f"::ffff:0:{v4}", "IPv4-translated (::ffff:0:0:0/96)"),
    "nat64": (lambda v4: f"64:ff9b::{v4}", None),
    "6to4": (lambda v4: f"2002:{_hex(v4)}:1::1", "6to4 tunnel (2002::/16)"),
    "teredo": (_teredo, "Teredo tunnel (2001::/32)"),
    "isatap": (lambda v4: f"2001:4860:1:2:0:5efe:{v4}", None),
    "isatap-global": (lambda v4: f"2a00:1450::200:5efe:{v4}", None),
    "local-nat64": (lambda v4: f"64:ff9b:1::{v4}", "local-use NAT64 (64:ff9b:1::/48)"),
}
INNER = {
    "127.0.0.1": "loopback",
    "10.20.30.40": "private",
    "169.254.169.254": "cloud metadata",
    "192.168.7.8": "private",
    "100.64.1.2": "not globally routable",
    "8.8.8.8": None,
}


@pytest.mark.parametrize("form", sorted(EMBEDDING_FORMS))
@pytest.mark.parametrize("inner", sorted(INNER))
def test_ipv6_forms_carrying_an_ipv4_address(form: str, inner: str) -> None:
    spell, public_reason = EMBEDDING_FORMS[form]
    address = ipaddress.ip_address(spell(ipaddress.IPv4Address(inner)))
    inner_reason = INNER[inner]
    if form == "local-nat64":
        expected = public_reason  # refused whatever it carries, wherever it carries it
    elif inner_reason is not None:
        expected = f"{inner_reason} (inside {address})"
    else:
        expected = public_reason
    assert refusal_reason(address) == expected


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("fec0::1", "site-local (fec0::/10, deprecated)"),
        ("fec0:0:0:1::a00:1", "site-local (fec0::/10, deprecated)"),
        ("3fff::1", "documentation (3fff::/20)"),
        ("2001:db8::1", "private"),
        ("100::1", "private"),  # discard-only
        ("2001:2::1", "private"),  # benchmarking
        ("5f00::1", "not global unicast"),  # outside 2000::/3
        ("4000::1", "not global unicast"),
        ("64:ff9b:1:7f00:1::", "local-use NAT64 (64:ff9b:1::/48)"),  # IPv4 at bits 56–88
        ("fe80::5efe:8.8.8.8", "link-local"),  # ISATAP id on a link-local prefix
        ("ff0e::5efe:8.8.8.8", "multicast"),
        ("::2", "private (inside ::2)"),
        ("2002:808:808::1", "6to4 tunnel (2002::/16)"),
    ],
)
def test_ipv6_ranges_that_are_not_global(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a9fe:a9fe]/x.jpg",
        "http://[64:ff9b::10.1.2.3]/x.jpg",
        "http://[::ffff:0:127.0.0.1]/x.jpg",
        "http://[::127.0.0.1]/x.jpg",
        "http://[2002:c0a8:101::1]/x.jpg",
        "http://[2002:808:808::1]/x.jpg",
        "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/x.jpg",
        "http://[2001:4860:1:2:0:5efe:a9fe:a9fe]/x.jpg",
        "http://[64:ff9b:1::808:808]/x.jpg",
        "http://[fec0::1]/x.jpg",
    ],
)
def test_guard_refuses_ipv6_literals(url: str) -> None:
    with pytest.raises(ForbiddenDestination, match="DARKROOM_OUTBOUND_ALLOW can open it"):
        OutboundGuard(AllowList()).check(url)


def test_guard_passes_public_nat64_and_mapped_literals() -> None:
    guard = OutboundGuard(AllowList())
    assert str(guard.check("http://[64:ff9b::808:808]/x.jpg").address) == "64:ff9b::808:808"
    assert str(guard.check("http://[::ffff:8.8.8.8]/x.jpg").address) == "::ffff:808:808"


def test_allow_list_opens_ipv6_ranges_and_what_nat64_reaches() -> None:
    """A listed IPv6 range opens its addresses, whatever they carry; a listed IPv4 range
    also opens the mapped and NAT64 addresses that reach it, but not tunnels to it."""
    guard = OutboundGuard(AllowList.parse("2002::/16,fec0::/10,10.20.0.0/16"))
    for url in (
        "http://[2002:c0a8:101::1]/",
        "http://[fec0::1]/",
        "http://[64:ff9b::10.20.3.4]/",
        "http://[::ffff:10.20.3.4]/",
    ):
        guard.check(url)
    for url in (
        "http://[2001:0:4136:e378:8000:63bf:f5eb:fcfb]/",  # Teredo, client 10.20.3.4
        "http://[::ffff:0:10.20.3.4]/",  # translated: not opened by the IPv4 range
        "http://[64:ff9b::10.21.0.1]/",
    ):
        with pytest.raises(ForbiddenDestination):
            guard.check(url)
