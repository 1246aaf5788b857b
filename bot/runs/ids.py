"""Ids of threads and runs: random (version 4) UUIDs as text."""

from __future__ import annotations

import os


def new_id() -> str:
    """`str(uuid.uuid4())` in a third of its time (no UUID object, no int formatting): 16 random
    bytes with the version and variant bits set as RFC 4122 sets them, written 8-4-4-4-12."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
