"""HeadMemory: the heads a saver last read or wrote, per (thread, namespace), least recently used
dropped first once there are `entries` of them or their blobs and writes pass `max_bytes`.

It is a hint for starting a run without reading the thread (see RecallingCheckpointer): whatever it
holds, the store checks the first write against the real head. A lock makes it safe to share
between threads (a sync node may run a subgraph on a loop of its own).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .base import SavedCheckpoint

Key = tuple[str, str]


def _size(head: SavedCheckpoint | None) -> int:
    if head is None:
        return 64
    return 64 + len(head.blob) + sum(len(k) + len(v) for k, v in head.writes.items())


class HeadMemory:
    def __init__(self, entries: int, max_bytes: int = 64 << 20) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._heads: OrderedDict[Key, tuple[SavedCheckpoint | None, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key: Key) -> bool:
        return key in self._heads

    def get(self, key: Key) -> tuple[bool, SavedCheckpoint | None]:
        """(known, head): whether a head is remembered for `key`, and which (None: none in the store)."""
        with self._lock:
            found = self._heads.get(key)
            if found is None:
                return False, None
            self._heads.move_to_end(key)
            return True, found[0]

    def put(self, key: Key, head: SavedCheckpoint | None) -> None:
        if self.entries <= 0:
            return
        size = _size(head)
        with self._lock:
            old = self._heads.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            self._heads[key] = (head, size)
            self._bytes += size
            while len(self._heads) > self.entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._heads.popitem(last=False)
                self._bytes -= dropped

    def drop(self, key: Key) -> None:
        with self._lock:
            old = self._heads.pop(key, None)
            if old is not None:
                self._bytes -= old[1]

    def drop_thread(self, thread_id: str) -> None:
        with self._lock:
            for key in [key for key in self._heads if key[0] == thread_id]:
                self._bytes -= self._heads.pop(key)[1]

    def __len__(self) -> int:
        return len(self._heads)
