"""Safe egress: which destinations a web notification may reach.

A destination is vetted three times. Its URL must be unambiguous
(:func:`check_url_syntax`), and a literal IP host must be public
(:func:`vet_host`). Every address a host name resolves to must be public too
(:class:`VettedResolver`), and aiohttp connects to exactly those addresses,
so no second lookup can swap them. "Public" means outside every range of
:data:`DENIED_NETWORKS`, an explicit list taken from the IANA IPv4 and IPv6
special-purpose address registries plus cloud metadata addresses, unless the
operator allowed the range in ``DOCRELAY_ALLOWED_DESTINATION_NETWORKS``.
Every doubt refuses: a failed lookup, an unparsable answer or an error inside
the check.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Mapping, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from docrelay.errors import ConfigurationError, DocRelayError, ValidationError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(*entries: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in entries)


NEVER_ALLOWED: tuple[tuple[IPNetwork, str], ...] = _networks(
    ("0.0.0.0/32", "unspecified address"),
    ("255.255.255.255/32", "limited broadcast address"),
    ("224.0.0.0/4", "multicast range"),
    ("::/128", "unspecified address"),
    ("ff00::/8", "multicast range"),
)
"""Addresses no allow-list can open: they name no single remote host."""

DENIED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = _networks(
    ("0.0.0.0/8", "'this network' range"),
    ("10.0.0.0/8", "private range"),
    ("100.100.100.200/32", "cloud metadata address"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback range"),
    ("169.254.169.254/32", "cloud metadata address"),
    ("169.254.0.0/16", "link-local range"),
    ("172.16.0.0/12", "private range"),
    ("192.0.0.0/24", "IETF protocol assignments range"),
    ("192.0.2.0/24", "documentation range"),
    ("192.31.196.0/24", "AS112 range"),
    ("192.52.193.0/24", "AMT range"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast range"),
    ("192.168.0.0/16", "private range"),
    ("192.175.48.0/24", "AS112 direct delegation range"),
    ("198.18.0.0/15", "benchmarking range"),
    ("198.51.100.0/24", "documentation range"),
    ("203.0.113.0/24", "documentation range"),
    ("168.63.129.16/32", "cloud platform address (Azure)"),
    ("240.0.0.0/4", "reserved range"),
    ("::1/128", "loopback address"),
    ("64:ff9b:1::/48", "local-use NAT64 range"),
    ("100::/64", "discard-only range"),
    ("100:0:0:1::/64", "dummy prefix range"),
    ("2001::/32", "Teredo range"),
    ("2001:db8::/32", "documentation range"),
    ("2001:10::/28", "ORCHID range"),
    ("2001:20::/28", "ORCHIDv2 range"),
    ("2001::/23", "IETF protocol assignments range"),
    ("2620:4f:8000::/48", "AS112 direct delegation range"),
    ("3fff::/20", "documentation range"),
    ("5f00::/16", "SRv6 SID range"),
    ("fd00:ec2::254/128", "cloud metadata address"),
    ("fc00::/7", "unique-local range"),
    ("fe80::/10", "link-local range"),
    ("fec0::/10", "deprecated site-local range"),
)
"""Special-purpose ranges refused unless allowed; the first matching reason is reported."""

_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


class EgressRefusedError(DocRelayError, OSError):
    """The destination is not allowed.

    It is an :class:`OSError` so that aiohttp reports a refusal inside its
    resolver as a connection error instead of letting it escape raw.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class EgressDecision:
    allowed: bool
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedUrl:
    """A URL that passed :func:`check_url_syntax`."""

    url: URL
    scheme: str
    host: str
    """Host in the form aiohttp uses: lower case, IDNA-encoded, without brackets."""
    port: int
    ip: IPAddress | None
    """The address when the host is an IP literal."""


def parse_allowed_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """Parse the operator's allow-list: CIDRs separated by commas or whitespace."""
    if value is None:
        return ()
    entries = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=True))
        except ValueError as exc:
            raise ConfigurationError(
                f"DOCRELAY_ALLOWED_DESTINATION_NETWORKS: {entry!r} is not a network in CIDR "
                f"form such as 10.20.0.0/16 ({exc})"
            ) from exc
    return tuple(networks)


def classify_address(
    ip: IPAddress | str, allowed_networks: Sequence[IPNetwork] = ()
) -> EgressDecision:
    """Decide whether a connection to ``ip`` may go out.

    Never raises: an address that cannot be understood is refused.
    """
    try:
        return _classify(ip, allowed_networks)
    except Exception as exc:  # any failure of the check refuses
        logger.warning(
            "egress check failed for %r: %s", ip, exc, extra={"action": "egress_check_failed"}
        )
        return EgressDecision(False, f"the address check failed ({type(exc).__name__})")


def _classify(ip: IPAddress | str, allowed: Sequence[IPNetwork]) -> EgressDecision:
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return EgressDecision(False, f"{address} carries a zone id")

    embedded = _embedded_ipv4(address)
    connectable = _first_match(address, NEVER_ALLOWED) is None
    for candidate in (address, embedded):
        if connectable and candidate is not None and _in_any(candidate, allowed):
            return EgressDecision(True, f"{address} is inside an allowed network")

    for table in (NEVER_ALLOWED, DENIED_NETWORKS):
        reason = _first_match(address, table)
        if reason is not None:
            return EgressDecision(False, f"{address} is in the {reason}")

    if embedded is not None:
        inner = _classify(embedded, ())
        if not inner.allowed:
            return EgressDecision(False, f"{address} embeds {embedded}, which is not allowed")
        return EgressDecision(True, f"{address} embeds the public address {embedded}")

    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return EgressDecision(False, f"{address} is outside the global unicast range 2000::/3")
    return EgressDecision(True, f"{address} is public")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that an IPv6 transition form carries, if any.

    Covers IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d),
    IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
    (2002:AABB:CCDD::). ``::`` and ``::1`` are handled by the deny list first.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    for prefix in (_NAT64_WELL_KNOWN, _IPV4_TRANSLATED, _IPV4_COMPATIBLE):
        if address in prefix:
            return low32
    return None


def _in_any(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _first_match(address: IPAddress, table: Sequence[tuple[IPNetwork, str]]) -> str | None:
    for network, reason in table:
        if address.version == network.version and address in network:
            return reason
    return None


def is_localhost_name(host: str) -> bool:
    """Tell whether ``host`` is ``localhost`` or below it, which resolvers map to loopback."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


_NUMERIC_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def parse_ipv4_number_form(host: str) -> ipaddress.IPv4Address | None:
    """Interpret ``host`` the way browsers and ``inet_aton`` do, or return None.

    Accepts one to four dot-separated parts in decimal, octal (leading ``0``)
    or hex (``0x``), where the last part fills the remaining bytes, so
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` all mean
    127.0.0.1. A trailing dot is allowed. Raises :class:`ValueError` when the
    host ends in a number but is no valid address, as browsers do.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts or not _NUMERIC_PART.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMERIC_PART.fullmatch(part) for part in parts):
        raise ValueError(f"{host!r} ends in a number but is not an IPv4 address")

    numbers = [_parse_ipv4_part(part) for part in parts]
    last_limit = 256 ** (5 - len(numbers))
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= last_limit:
        raise ValueError(f"{host!r} has an IPv4 part out of range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def parse_host_address(host: str) -> IPAddress | None:
    """Return the IP address that a URL host stands for, or None for a host name.

    Raises :class:`ValueError` for an IPv6 literal with a zone id or a host
    that ends in a number without being an address.
    """
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in literal:
        if "%" in literal:
            raise ValueError(f"IPv6 literal {literal!r} carries a zone id")
        return ipaddress.IPv6Address(literal)
    return parse_ipv4_number_form(literal)


def vet_host(host: str, allowed_networks: Sequence[IPNetwork] = ()) -> EgressDecision:
    """Decide on a URL host before any lookup: names pass, literal addresses are classified."""
    try:
        if is_localhost_name(host):
            return EgressDecision(False, f"{host!r} is a localhost name")
        address = parse_host_address(host)
    except ValueError as exc:
        return EgressDecision(False, str(exc))
    if address is None:
        return EgressDecision(True, f"{host!r} is a host name; its addresses are vetted at send")
    return classify_address(address, allowed_networks)


_AMBIGUOUS_HOST = re.compile(r"[\s%\\@]")


def check_url_syntax(url: str, field: str = "url") -> ParsedUrl:
    """Parse a destination URL and reject any form that parsers may read differently.

    Raises :class:`ValidationError` naming ``field`` and the problem.
    """
    if "\\" in url:
        raise ValidationError.for_field(field, "contains a backslash; write %5C or use '/'")
    if re.search(r"[\x00-\x20\x7f]", url):
        raise ValidationError.for_field(field, "contains whitespace or a control character")
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise ValidationError.for_field(field, f"is not a valid URL ({exc})") from exc

    if parsed.scheme not in ("http", "https"):
        raise ValidationError.for_field(field, "must start with http:// or https://")
    if parsed.raw_user is not None or parsed.raw_password is not None or "@" in parsed.authority:
        raise ValidationError.for_field(
            field, "must not carry user information; use the design's authentication settings"
        )
    raw_host = parsed.raw_host or ""
    if not raw_host:
        raise ValidationError.for_field(field, "has no host")
    if _AMBIGUOUS_HOST.search(raw_host) and ":" not in raw_host:
        raise ValidationError.for_field(
            field, "has a host with percent-encoding or whitespace; write the host name plainly"
        )

    host = parsed.host or raw_host
    try:
        ip = parse_host_address(host)
    except ValueError as exc:
        raise ValidationError.for_field(field, f"has an invalid host: {exc}") from exc
    if ip is not None and ip.version == 4 and str(ip) != host.rstrip("."):
        raise ValidationError.for_field(
            field, f"writes the IPv4 address {ip} in an unusual form; write it as {ip}"
        )
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return ParsedUrl(parsed, parsed.scheme, host, port, ip)


def check_destination(
    url: str, allowed_networks: Sequence[IPNetwork] = (), field: str = "url"
) -> ParsedUrl:
    """Check a destination URL when a design is saved: syntax, then the host if it is literal.

    Host names are only checked for ``localhost``, because their addresses
    can change and are vetted again at send time. Raises
    :class:`ValidationError` naming ``field``.
    """
    parsed = check_url_syntax(url, field)
    decision = vet_host(parsed.host, allowed_networks)
    if not decision.allowed:
        raise ValidationError.for_field(
            field,
            f"points to a destination that is not allowed ({decision.reason}); "
            "an operator can allow private networks in DOCRELAY_ALLOWED_DESTINATION_NETWORKS",
        )
    return parsed


class StaticResolver(AbstractResolver):
    """Resolve names from a fixed table, for tests and demos; unknown names fail like NXDOMAIN."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {
            name.lower().rstrip("."): list(addresses) for name, addresses in table.items()
        }

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._table.get(host.lower().rstrip("."))
        if addresses is None:
            raise OSError(socket.EAI_NONAME, f"{host} not found")
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def _result(hostname: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=hostname,
        host=address,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
    )


class VettedResolver(AbstractResolver):
    """Resolve a host name and return its addresses only if every one is allowed.

    The results keep the original host name, so aiohttp still sends it in the
    Host header and as the TLS server name while connecting to the vetted
    address. Refusals raise :class:`EgressRefusedError`.
    """

    def __init__(
        self,
        allowed_networks: Sequence[IPNetwork] = (),
        lookup: AbstractResolver | None = None,
    ) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        decision = vet_host(host, self.allowed_networks)
        if not decision.allowed:
            raise EgressRefusedError(f"destination {host} rejected: {decision.reason}")

        results = await self._resolve(host, port, family)
        if not results:
            raise EgressRefusedError(f"destination {host} rejected: the lookup returned no address")

        for result in results:
            decision = classify_address(result["host"], self.allowed_networks)
            if not decision.allowed:
                logger.warning(
                    "destination %s rejected: %s",
                    host,
                    decision.reason,
                    extra={"action": "egress_refused", "host": host},
                )
                raise EgressRefusedError(f"destination {host} rejected: {decision.reason}")
        return [_result(host, result["host"], result["port"]) for result in results]

    async def _resolve(
        self, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolveResult]:
        if self._lookup is None:
            self._lookup = ThreadedResolver()
        try:
            return await self._lookup.resolve(host, port, family)
        except Exception as exc:
            raise EgressLookupError(f"lookup of {host} failed: {exc}") from exc

    async def close(self) -> None:
        if self._lookup is not None:
            await self._lookup.close()


class EgressLookupError(EgressRefusedError):
    """The destination's host name could not be resolved, so it was refused."""
