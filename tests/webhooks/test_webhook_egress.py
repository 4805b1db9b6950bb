"""SSRF guard: the decision functions and the vetted resolver. Nothing here opens a connection."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from webhook_harness import run

from docrelay.errors import ConfigurationError, ValidationError
from docrelay.webhooks.egress import (
    EgressLookupError,
    EgressRefusedError,
    StaticResolver,
    VettedResolver,
    check_destination,
    check_url_syntax,
    classify_address,
    parse_allowed_networks,
    parse_host_address,
    vet_host,
)

# Hosts as they may appear in a URL; every one means a special-purpose address.
REFUSED_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.255.255.254",
    "2130706433",  # decimal 127.0.0.1
    "0177.0.0.1",  # octal
    "0x7f.1",  # hex, short form
    "0x7f000001",
    "0x7F.0.0.1",
    "017700000001",  # octal, single number
    "127.0.0.1.",
    "0",  # 0.0.0.0
    "0.0.0.0",
    "10.1.2.3",
    "012.1.2.3",  # octal 10.1.2.3
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",  # shared address space
    "100.100.100.200",  # Alibaba metadata
    "169.254.169.254",  # cloud metadata
    "2852039166",  # decimal 169.254.169.254
    "0xa9.0xfe.0xa9.0xfe",
    "169.254.1.1",
    "168.63.129.16",  # Azure platform
    "192.0.0.192",
    "192.0.2.10",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[::ffff:0:127.0.0.1]",  # IPv4-translated
    "[64:ff9b::127.0.0.1]",  # NAT64
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::8.8.8.8]",  # local-use NAT64
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[2001:db8::1]",
    "[2001:10::1]",  # ORCHID
    "[2001:20::1]",  # ORCHIDv2
    "[fd00:ec2::254]",  # AWS metadata
    "[fc00::1]",
    "[fe80::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[100::1]",
    "[3fff::1]",
    "[5f00::1]",
    "[4000::1]",  # outside 2000::/3
    "localhost",
    "localhost.",
    "LOCALHOST",
    "api.localhost",
    "api.localhost.",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_host_refused(host: str) -> None:
    decision = vet_host(host.strip("[]"))

    assert decision.allowed is False, decision.reason
    assert decision.reason


def test_decision_table_is_large() -> None:
    assert len(REFUSED_HOSTS) >= 40


@pytest.mark.parametrize(
    ("host", "meaning"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("8.8.8.8.", "8.8.8.8"),
        ("134744072", "8.8.8.8"),
    ],
)
def test_number_forms_mean_ipv4(host: str, meaning: str) -> None:
    assert parse_host_address(host) == ipaddress.IPv4Address(meaning)


@pytest.mark.parametrize("host", ["1.2.3.256", "1.2.3.4.5", "foo.123", "0x1.0x100.1.1", "09.1.1.1"])
def test_invalid_number_forms_rejected(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host_address(host)
    assert vet_host(host).allowed is False


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",  # mapped public address
        "64:ff9b::8.8.8.8",  # NAT64 of a public address
        "2002:0808:0808::1",  # 6to4 of a public address
    ],
)
def test_public_address_allowed(address: str) -> None:
    decision = classify_address(address)

    assert decision.allowed is True, decision.reason


def test_zone_id_refused() -> None:
    assert vet_host("fe80::1%eth0").allowed is False
    assert classify_address("2606:4700::1%eth0").allowed is False


def test_garbage_address_refused_not_raised() -> None:
    decision = classify_address("not-an-address")

    assert decision.allowed is False
    assert "check failed" in decision.reason


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("127.0.0.1", "127.0.0.0/8"),
        ("10.20.30.40", "10.20.0.0/16"),
        ("::ffff:10.20.30.40", "10.20.0.0/16"),
        ("fd12::5", "fd12::/16"),
        ("169.254.169.254", "169.254.169.254/32"),
    ],
)
def test_allow_list_opens_network(address: str, network: str) -> None:
    allowed = parse_allowed_networks(network)

    assert classify_address(address).allowed is False
    assert classify_address(address, allowed).allowed is True


def test_allow_list_never_opens_unspecified_or_multicast() -> None:
    allowed = parse_allowed_networks("0.0.0.0/0, ::/0")

    assert classify_address("0.0.0.0", allowed).allowed is False
    assert classify_address("224.0.0.1", allowed).allowed is False
    assert classify_address("ff02::1", allowed).allowed is False
    assert classify_address("10.0.0.1", allowed).allowed is True


def test_allow_list_does_not_open_localhost_names() -> None:
    allowed = parse_allowed_networks("127.0.0.0/8")

    assert vet_host("localhost", allowed).allowed is False


def test_allow_list_parse_errors_name_setting() -> None:
    with pytest.raises(ConfigurationError, match="DOCRELAY_ALLOWED_DESTINATION_NETWORKS"):
        parse_allowed_networks("10.0.0.1/8")
    with pytest.raises(ConfigurationError, match="nonsense"):
        parse_allowed_networks("10.0.0.0/8 nonsense")
    assert parse_allowed_networks("") == ()
    assert parse_allowed_networks(None) == ()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/", "http"),
        ("file:///etc/passwd", "http"),
        ("http://example.com\\@127.0.0.1/", "backslash"),
        ("http://user:pass@example.com/", "user information"),
        ("http://user@example.com/", "user information"),
        ("http://%31%32%37.0.0.1/", "percent"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com\t/", "whitespace"),
        ("http:///path", "host"),
        ("http://[fe80::1%25eth0]/", "zone id"),
        ("http://2130706433/", "unusual form"),
        ("http://0x7f.1/", "unusual form"),
        ("http://foo.123/", "invalid host"),
    ],
)
def test_url_syntax_rejected(url: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_url_syntax(url)

    assert caught.value.errors[0][0] == "url"
    assert problem in caught.value.errors[0][1]


# IDNA normalisation maps fullwidth digits to ASCII, so this URL means 127.0.0.1.
FULLWIDTH_LOOPBACK_URL = "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/"


def test_url_syntax_accepts_plain_urls() -> None:
    parsed = check_url_syntax("https://Hooks.Example.com:8443/in?x=1")

    assert parsed.host == "hooks.example.com"
    assert parsed.port == 8443
    assert parsed.ip is None
    assert check_url_syntax("http://[2606:4700::1]/").ip == ipaddress.ip_address("2606:4700::1")
    assert check_url_syntax(FULLWIDTH_LOOPBACK_URL).host == "127.0.0.1"


TEST_DNS = StaticResolver(
    {
        "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "loopback.example": ["127.0.0.1"],
        "metadata.example": ["169.254.169.254"],
        "metadata6.example": ["fd00:ec2::254"],
        "mixed.example": ["93.184.215.14", "10.0.0.5"],
        "mapped.example": ["::ffff:127.0.0.1"],
        "nat64.example": ["64:ff9b::a9fe:a9fe"],
        "alibaba.example": ["100.100.100.200"],
        "empty.example": [],
        "internal.example": ["10.20.30.40"],
    }
)


def resolve(name: str, allowed: str = "") -> list[str]:
    resolver = VettedResolver(parse_allowed_networks(allowed), TEST_DNS)
    results = run(lambda: resolver.resolve(name, 443, socket.AF_UNSPEC))
    for result in results:
        assert result["hostname"] == name
        assert result["port"] == 443
    return [result["host"] for result in results]


@pytest.mark.parametrize(
    "name",
    [
        "loopback.example",
        "metadata.example",
        "metadata6.example",
        "mixed.example",
        "mapped.example",
        "nat64.example",
        "alibaba.example",
        "internal.example",
        "localhost",
        "localhost.",
        "svc.localhost",
    ],
)
def test_resolver_refuses_special_answers(name: str) -> None:
    with pytest.raises(EgressRefusedError, match="rejected"):
        resolve(name)


@pytest.mark.parametrize("name", ["missing.example", "empty.example"])
def test_resolver_refuses_failed_lookup(name: str) -> None:
    with pytest.raises(EgressRefusedError):
        resolve(name)


def test_resolver_lookup_error_is_typed() -> None:
    with pytest.raises(EgressLookupError, match=r"lookup of missing\.example failed"):
        resolve("missing.example")


def test_resolver_returns_vetted_addresses() -> None:
    assert resolve("public.example") == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]


def test_resolver_honours_allow_list() -> None:
    assert resolve("internal.example", "10.20.0.0/16") == ["10.20.30.40"]
    with pytest.raises(EgressRefusedError):
        resolve("mixed.example", "10.20.0.0/16")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
        "https://localhost./hook",
        "http://api.localhost/hook",
        "http://[fd00:ec2::254]/",
    ],
)
def test_check_destination_rejects_at_save(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_destination(url, field="url")

    assert caught.value.errors[0][0] == "url"
    assert "DOCRELAY_ALLOWED_DESTINATION_NETWORKS" in caught.value.errors[0][1]


def test_check_destination_accepts_names_and_allowed() -> None:
    assert check_destination("https://hooks.example.com/in").host == "hooks.example.com"
    allowed = parse_allowed_networks("127.0.0.0/8")
    assert check_destination("http://127.0.0.1:9/", allowed).port == 9
