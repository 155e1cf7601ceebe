"""Who a request comes from, behind a load balancer: the address the login throttle, the
audit log and ``/metrics``' this-machine rule go by.

Behind HAProxy every request comes from the proxy's own address, so the client's is read
from ``X-Forwarded-For``, but only when the connection comes from an address in
``http.trusted_proxies``: anyone else could write the header. The proxies append, so the
list is read from its right end, past the trusted proxies, and the first other address is
the client (what a client put at the left end itself is never believed). A header that
does not parse leaves the connection's own address."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """``http.trusted_proxies`` as networks (an address alone is a network of one);
    the loader has checked each parses."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(remote: str | None, forwarded_for: Sequence[str], trusted: tuple[Network, ...]) -> str | None:
    """The client's address: ``remote`` (the connection's), or, when that is a trusted
    proxy, the right-most address of ``forwarded_for`` (every such header's values, in
    order) that is not one."""
    if remote is None or not forwarded_for or not _trusted(remote, trusted):
        return remote
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            # A proxy of ours wrote this: a hop it could not name ends what can be believed.
            return remote
        if not _trusted(address, trusted):
            return address
    return remote


def client_address_middleware(trusted: tuple[Network, ...]) -> Middleware:
    """The request seen with the client's address as ``request.remote``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        forwarded = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
        address = client_address(request.remote, forwarded, trusted)
        if address is None or address == request.remote:
            return await handler(request)
        return await handler(request.clone(remote=address))

    return middleware
