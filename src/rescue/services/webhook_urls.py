"""Which URLs a webhook may point at: the rule against server-side request forgery.

Allowed: http and https to any host, loopback and private networks included
(the maker's dealer and claims systems run on premises). Refused: other
schemes, credentials in the URL, link-local addresses (169.254.0.0/16 and
fe80::/10, where cloud metadata services answer), unspecified and multicast
addresses, and this server itself (its own port on one of its addresses), which
would make every delivery a request to the server from inside.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from urllib.parse import urlsplit

from rescue.domain.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str) -> list[IPAddress]:
    """Every address the host name resolves to (an address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise Invalid("url", f"the host {host!r} does not resolve: {error}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _own_addresses(server_host: str) -> set[IPAddress]:
    addresses: set[IPAddress] = set()
    if server_host in ("0.0.0.0", "::", ""):
        return addresses  # every address is the server's: decided by the port alone
    with contextlib.suppress(Invalid):
        addresses.update(resolve(server_host))
    return addresses


def check_webhook_url(url: str, server_host: str, server_port: int) -> str:
    """The URL if a webhook may point at it; raises Invalid (422) saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Invalid("url", f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid("url", "a webhook URL is http:// or https://")
    if not parts.hostname:
        raise Invalid("url", "a webhook URL names a host")
    if parts.username or parts.password:
        raise Invalid("url", "put no credentials in a webhook URL; deliveries are signed instead")
    port = port or (443 if parts.scheme == "https" else 80)
    own = _own_addresses(server_host)
    every_address = server_host in ("0.0.0.0", "::", "")
    for address in resolve(parts.hostname):
        mapped = getattr(address, "ipv4_mapped", None) or address
        if mapped.is_link_local:
            raise Invalid("url", f"{address} is a link-local (metadata) address")
        if mapped.is_unspecified or mapped.is_multicast:
            raise Invalid("url", f"{address} cannot receive webhooks")
        if port == server_port and (
            mapped.is_loopback or mapped in own or (every_address and _is_local(mapped))
        ):
            raise Invalid("url", "a webhook cannot point at this server itself")
    return url


def _is_local(address: IPAddress) -> bool:
    """Whether the address belongs to this machine (binding to it succeeds)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True
