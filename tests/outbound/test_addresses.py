"""The address rule and the guard, checked without sending a request anywhere."""

from __future__ import annotations

import ipaddress

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
