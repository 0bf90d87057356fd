"""Which addresses a fetcher may connect to: public ones, plus what the operator allows.

An address is public when ``ipaddress`` calls it global and it is none of the
special kinds the standard library still counts as global (multicast, site-local
``fec0::/10``, reserved), and when every IPv4 address embedded in it is public too:
IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``,
NAT64 ``64:ff9b::a.b.c.d`` and Teredo ``2001:0::`` (server and client). So
100.64.0.0/10 (carrier-grade NAT, with the cloud metadata address 100.100.100.200),
169.254.0.0/16, RFC 1918, loopback and their IPv6 disguises are all refused.

The operator widens this with an allow-list of networks and host names
(``fetch_allow = "127.0.0.1/32, feeds.intranet.example"``): a host name on the list
may resolve to anything; otherwise each resolved address must be public or inside
an allowed network. Allowing a name never lets a redirect go elsewhere: every hop
is checked on its own host and address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not globally reachable per the IANA special-purpose registries, whatever this Python's
# ``is_global`` says (its lists changed between patch releases).
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/29", "192.0.0.8/32", "192.0.0.170/31", "192.0.2.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/127", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:2::/48",
        "2001:10::/28", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
        "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# What the deprecated ``allow_private_addresses = true`` means: loopback and private
# ranges, never link-local (169.254.169.254 is a metadata service) or carrier-grade NAT.
LOOPBACK_AND_PRIVATE = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


class AllowListError(ValueError):
    """A bad allow-list entry; the message names it and says what is accepted."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _plainly_public(ip: IPAddress) -> bool:
    if not ip.is_global or any(ip in net for net in _NOT_GLOBAL if net.version == ip.version):
        return False
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback:
        return False
    if ip.is_link_local or ip.is_private:
        return False
    return not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)


def is_public_address(address: str | IPAddress) -> bool:
    """True only for a globally routable unicast address that hides no private IPv4."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:
            return _plainly_public(ip.ipv4_mapped)  # the kernel connects to the IPv4 itself
        if inner and not all(_plainly_public(v4) for v4 in inner):
            return False
        if ip in _NAT64 and inner:
            return True  # 64:ff9b::/96 is global exactly when its IPv4 is
    return _plainly_public(ip)


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus allowed networks and host names (``*.example.org`` for a domain)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> AddressPolicy:
        """A policy from allow-list entries: CIDRs, single addresses or host names."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _host_key(entry)
            label = name.removeprefix("*.")
            if not label or any(c in label for c in "/:@ *[]") or ".." in label:
                raise AllowListError(
                    f"allow-list entry {raw!r} is neither a network (10.0.0.0/8, ::1) nor a "
                    "host name (feeds.example.org, *.example.org)."
                )
            hosts.add(name)
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    @classmethod
    def from_setting(cls, allow: str, allow_private_addresses: bool = False) -> AddressPolicy:
        """The policy of the ``fetch_allow`` setting (comma- or space-separated entries).

        ``allow_private_addresses`` is the deprecated all-in-one switch; it now means
        loopback and private ranges only (``LOOPBACK_AND_PRIVATE``), never link-local.
        """
        entries = allow.replace(",", " ").split()
        if allow_private_addresses:
            entries = [*entries, *LOOPBACK_AND_PRIVATE]
        return cls.from_entries(entries)

    def host_allowed(self, host: str) -> bool:
        name = _host_key(host)
        if name in self.hosts:
            return True
        return any(entry.startswith("*.") and name.endswith(entry[1:]) for entry in self.hosts)

    def allows(self, host: str, address: str | IPAddress) -> bool:
        """May a connection for ``host`` go to ``address``?"""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if is_public_address(ip) or self.host_allowed(host):
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )

    def refusal(self, host: str, address: str) -> str:
        """One sentence saying why ``address`` is refused and how to allow it."""
        where = (
            f"{host} is {address}"
            if _host_key(host) == str(address)
            else (f"{host} resolves to {address}")
        )
        return (
            f"{where}, which is not a public address (private, loopback, "
            "link-local, carrier-grade NAT, reserved or an IPv6 form of one); refused. "
            "To fetch from it, add its network or host name to the fetch_allow setting."
        )
