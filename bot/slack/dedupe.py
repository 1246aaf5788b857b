"""Slack deliveries handled once across every process: an event Slack retries (same event id, any
process) and a slash command replayed within its signature's five minutes (same trigger id).

Redis when there is one (`SET NX` with an expiry, one key per delivery), else this process's memory.
If Redis cannot answer, a delivery counts as new: better a rare duplicate than a dropped click.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Protocol

from bot import keys

log = logging.getLogger("sluice.slack")

EVENT_TTL_S = 3600  # Slack retries an event for about an hour at most
SIGNATURE_TTL_S = 600  # a signed request is accepted for five minutes either side of its timestamp
MEMORY_SIZE = 4096


class Seen(Protocol):
    async def first_time(self, kind: str, delivery_id: str, ttl_s: int) -> bool: ...


class MemorySeen:
    def __init__(self, size: int = MEMORY_SIZE) -> None:
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size

    async def first_time(self, kind: str, delivery_id: str, ttl_s: int) -> bool:
        if (kind, delivery_id) in self._ids:
            return False
        self._ids[(kind, delivery_id)] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class RedisSeen:
    def __init__(self, redis: Any) -> None:
        self._redis = redis

    async def first_time(self, kind: str, delivery_id: str, ttl_s: int) -> bool:
        try:
            return bool(await self._redis.set(keys.slack_seen(kind, delivery_id), "1", nx=True, ex=ttl_s))
        except Exception:
            log.warning("could not check Slack %s %s for a repeat; handling it", kind, delivery_id, exc_info=True)
            return True
