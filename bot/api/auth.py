"""Who may call the API: holders of SLUICE_API_KEY, or, without a key, loopback clients only."""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable

from aiohttp import web

from bot.api import wire

API_PREFIXES = ("/assistants", "/threads", "/runs", "/info", "/store")


@functools.lru_cache(maxsize=1024)  # every API request asks about its peer; parsing the address cost more than the rest of the check
def is_loopback(host: str | None) -> bool:
    """Whether `host` (an address, maybe with an IPv6 zone, or "localhost") is this machine alone:
    used for the API's callers and for the address a server listens on."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_API_ROOTS = frozenset(API_PREFIXES)


def is_api_path(path: str) -> bool:
    """Whether `path` is one of API_PREFIXES or under one (its first segment names it)."""
    end = path.find("/", 1)
    return (path if end < 0 else path[:end]) in _API_ROOTS


def refusal(api_key: str | None) -> Callable[[web.Request], web.Response | None]:
    """The check every request passes first (`bot.api.gate`): the refusal of a caller that may not
    use the API, or None."""

    def check(request: web.Request) -> web.Response | None:
        if not is_api_path(request.path):
            return None
        if api_key:
            given = request.headers.get("x-api-key", "")
            # aiohttp keeps undecodable header bytes as surrogates: encode them back, never fail on them
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), api_key.encode()):
                return wire.problem(401, "Missing or wrong x-api-key header")
        elif not is_loopback(request.remote):
            return wire.problem(
                403, "This API answers loopback clients only; set SLUICE_API_KEY to serve other hosts with a key"
            )
        return None

    return check
