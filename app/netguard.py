"""The outbound network guard: every request the service makes to a URL a client gave passes here.

A URL may only reach the public internet. The host is resolved once, every address it resolves
to is checked, and the connection goes to an address that was checked (the URL's host is
replaced by that address; the Host header, TLS SNI and certificate check keep the original name),
so a second DNS answer can never point the request somewhere else (DNS rebinding). Redirects are
followed by hand, and each hop is checked the same way. Loopback, private, link-local (cloud
metadata), multicast, reserved, unspecified, IPv4-mapped and NAT64/6to4/Teredo tunnels to such
addresses are refused unless inside a range of ALLOWED_PRIVATE_NETWORKS.

Used by URL inputs (app/inputs/fetch.py) and outgoing webhooks.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from app.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses (as text) the name resolves to; raises OSError when it does not.
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Headers that must not follow a redirect to another origin.
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# inet_aton-style IPv4 spellings: 2130706433, 0x7f.1, 0177.0.0.1, 127.1
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


class BlockedDestination(Exception):
    """A URL the guard refuses; `reason` says why in words a user can act on, and `code` is
    `url_unresolvable` when the host name does not resolve (a typo, or no DNS from here) and
    `url_not_allowed` when the URL or its addresses may not be reached."""

    def __init__(self, reason: str, *, code: str = "url_not_allowed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, by the operating system's resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen[str(sockaddr[0])] = None
    return list(seen)


def _refusal(address: IPAddress, settings: Settings) -> str | None:
    """Why `address` must not be reached, or None when it may."""
    for network in settings.allowed_private_networks:
        if address.version == network.version and address in network:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if address in _NAT64:  # DNS64 gives public IPv4 hosts these; judge the embedded one
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            inner = _refusal(embedded, settings)
            return f"a NAT64 address of {embedded}, {inner}" if inner else None
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        if address.sixtofour is not None or address.teredo is not None:
            return "a 6to4 or Teredo tunnel address"
    kinds = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (such as a cloud metadata service)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, kind in kinds:
        if getattr(address, attribute):
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "not a public internet address"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (including legacy IPv4 spellings), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise BlockedDestination(f"The host {host!r} is not a valid address.") from None
    return None


@dataclass(frozen=True)
class Destination:
    """A checked URL and the addresses it may be connected to."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise BlockedDestination(f"The URL is not valid: {exc}.") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        shown = parsed.scheme or "(none)"
        raise BlockedDestination(
            f"The URL scheme {shown!r} is not allowed; use an http:// or https:// URL."
        )
    if not parsed.host:
        raise BlockedDestination("The URL has no host name.")
    return parsed


def resolve_destination(
    url: str | httpx.URL, *, settings: Settings, resolver: Resolver | None = None
) -> Destination:
    """Parse, resolve and check a URL; BlockedDestination when it may not be reached."""
    parsed = _parse(url)
    host = parsed.host
    literal = _literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            names = (resolver or system_resolver)(host, parsed.port or _default_port(parsed))
        except (OSError, UnicodeError) as exc:
            raise BlockedDestination(
                f"The host {host!r} could not be resolved ({exc}); check the URL.",
                code="url_unresolvable",
            ) from None
        addresses = []
        for name in names:
            try:
                addresses.append(ipaddress.ip_address(name.split("%", 1)[0]))
            except ValueError:
                raise BlockedDestination(
                    f"The host {host!r} resolved to something that is not an address."
                ) from None
        if not addresses:
            raise BlockedDestination(
                f"The host {host!r} has no addresses; check the URL.", code="url_unresolvable"
            )
    for address in addresses:
        reason = _refusal(address, settings)
        if reason is not None:
            what = f"{host!r}" if literal is not None else f"{host!r} resolves to {address}, which"
            raise BlockedDestination(
                f"The URL's host {what} is {reason}; only public internet addresses may be "
                "reached (ALLOWED_PRIVATE_NETWORKS lists internal ranges a deployment allows)."
            )
    return Destination(url=parsed, addresses=tuple(addresses))


def check_destination(url: str, *, settings: Settings, resolver: Resolver | None = None) -> None:
    """Refuse (BlockedDestination) a URL whose scheme, host or addresses may not be reached."""
    resolve_destination(url, settings=settings, resolver=resolver)


def _shown(url: httpx.URL) -> str:
    """A URL for messages: no user name, password or query string."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _pinned_request(
    client: httpx.Client,
    method: str,
    destination: Destination,
    address: IPAddress,
    headers: Mapping[str, str],
    content: bytes | None,
) -> httpx.Request:
    """A request to `address` that presents the original host name (Host, SNI, certificate)."""
    url = destination.url
    request = client.build_request(
        method,
        url.copy_with(host=str(address)),
        headers={**headers, "Host": url.netloc.decode("ascii")},
        content=content,
    )
    if url.scheme == "https":
        request.extensions["sni_hostname"] = url.host
    return request


def _open(
    method: str,
    destination: Destination,
    *,
    headers: Mapping[str, str],
    content: bytes | None,
    timeout: httpx.Timeout,
    verify: ssl.SSLContext | bool,
) -> tuple[httpx.Client, httpx.Response]:
    """Send to the first checked address that accepts a connection; the caller closes both."""
    last_error: httpx.TransportError | None = None
    for address in destination.addresses:
        # One client per connection: a pooled TLS connection must never carry another host.
        # trust_env=False: no proxy from the environment may carry the request elsewhere.
        client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=verify
        )
        try:
            request = _pinned_request(client, method, destination, address, headers, content)
            return client, client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            client.close()
            last_error = exc
        except BaseException:
            client.close()
            raise
    assert last_error is not None
    raise last_error


def _redirect_method(method: str, status: int) -> str:
    # As browsers and httpx do: 303 becomes GET, and 301/302 turn a POST into a GET.
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


@contextmanager
def guarded_stream(
    method: str,
    url: str,
    *,
    settings: Settings,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    timeout: httpx.Timeout,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Iterator[httpx.Response]:
    """Stream a request to a checked destination, following redirects only after checking each.

    Raises BlockedDestination for a refused URL or hop (before any connection to it), and
    httpx errors for network failures (httpx.TooManyRedirects past `max_redirects`).
    `resolver` replaces the system resolver (tests); `verify` is a trust store for TLS (tests).
    """
    current: httpx.URL = _parse(url)
    send_headers = dict(headers or {})
    body = content
    redirects = 0
    while True:
        try:
            destination = resolve_destination(current, settings=settings, resolver=resolver)
        except BlockedDestination as exc:
            if redirects == 0:
                raise
            raise BlockedDestination(
                f"The URL redirected to {_shown(current)}: {exc.reason}", code=exc.code
            ) from None
        client, response = _open(
            method,
            destination,
            headers=send_headers,
            content=body,
            timeout=timeout,
            verify=verify,
        )
        location = response.headers.get("location")
        if not (follow_redirects and response.status_code in REDIRECT_STATUSES and location):
            break
        response.close()
        client.close()
        redirects += 1
        if redirects > max_redirects:
            raise httpx.TooManyRedirects(
                f"More than {max_redirects} redirects.", request=response.request
            )
        try:
            following = current.join(location)
        except (httpx.InvalidURL, ValueError) as exc:
            raise BlockedDestination(f"The URL redirected to an invalid URL: {exc}.") from None
        new_method = _redirect_method(method, response.status_code)
        if new_method != method:
            body = None
            send_headers = {
                k: v
                for k, v in send_headers.items()
                if k.lower() not in ("content-type", "content-length")
            }
        if (following.scheme, following.host, following.port) != (
            current.scheme,
            current.host,
            current.port,
        ):
            send_headers = {
                k: v for k, v in send_headers.items() if k.lower() not in CREDENTIAL_HEADERS
            }
        method, current = new_method, following
    try:
        yield response
    finally:
        response.close()
        client.close()
