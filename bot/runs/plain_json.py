"""Values as plain JSON, the way the LangGraph server writes them (no type tags).

Records and API responses use this; checkpoints keep the engine's own tagged serde, which
round-trips types exactly.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Mapping
from typing import Any

from engine import Interrupt, Send

_LEAVES = frozenset({str, int, float, bool, type(None)})


def to_wire(value: Any) -> Any:
    """`value` as plain JSON values. JSON's own types (exactly those types: most of any state) are
    walked here without a call per leaf; anything else, subclasses included, by `_to_wire`."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in _LEAVES else to_wire(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else to_wire(v) for v in value]
    return _to_wire(value)


def _to_wire(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Interrupt):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_wire(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):  # as the LangGraph server writes them
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, Send):
        return {"node": value.node, "arg": to_wire(value.arg)}
    if hasattr(value, "model_dump"):
        return to_wire(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_wire(dataclasses.asdict(value))
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    return repr(value)
