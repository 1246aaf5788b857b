"""Versioned JSON serialisation for checkpoints. Never pickle.

Plain JSON values pass through; other supported types are tagged objects
`{"__sluice__": <tag>, ...}`. Dataclasses and pydantic models are rebuilt by importing their
class by name, and only when that name resolves to a dataclass or a pydantic model, so stored
data can never run arbitrary code.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import json
import json.encoder
import uuid
from typing import Any

from .errors import SerializationError

FORMAT_VERSION = 1
_TAG = "__sluice__"


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SerializationError(f"Stored value names class {path!r}, which cannot be imported") from exc
    if not isinstance(obj, type):
        raise SerializationError(f"Stored value names {path!r}, which is not a class")
    return obj


def _is_pydantic_model(value: Any) -> bool:
    return hasattr(type(value), "model_dump") and hasattr(type(value), "model_fields")


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any, where: str) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or key == _TAG:
                return {_TAG: "dict", "items": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
            out[key] = item if type(item) in _PLAIN else _encode(item, where)
        return out
    if kind is list:
        return [v if type(v) in _PLAIN else _encode(v, where) for v in value]
    if isinstance(value, enum.Enum):
        return {_TAG: "enum", "cls": _class_path(type(value)), "v": _encode(value.value, where)}
    if isinstance(value, (bool, int, float, str)):  # subclasses of the plain types
        return value
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return _encode(dict(value), where)
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [_encode(v, where) for v in value]}
    if isinstance(value, (set, frozenset)):
        tag = "set" if isinstance(value, set) else "frozenset"
        return {_TAG: tag, "v": [_encode(v, where) for v in value]}
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    if isinstance(value, uuid.UUID):
        return {_TAG: "uuid", "v": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {_TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, decimal.Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, enum.Enum):
        return {_TAG: "enum", "cls": _class_path(type(value)), "v": _encode(value.value, where)}
    if _is_pydantic_model(value):
        return {_TAG: "pydantic", "cls": _class_path(type(value)), "v": _encode(value.model_dump(), where)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name), where) for f in dataclasses.fields(value)}
        return {_TAG: "dataclass", "cls": _class_path(type(value)), "v": fields}
    raise SerializationError(
        f"Cannot store the value at {where}: {type(value).__name__} is not serialisable. "
        "Use JSON types, tuples, sets, datetime, UUID, bytes, Decimal, enums, dataclasses or pydantic models."
    )


def _decode(value: Any) -> Any:
    """Rebuild the values of tagged JSON data already parsed (inner values first, as json.loads does)."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if _TAG in value:
        return _untag({k: _decode(v) for k, v in value.items()})
    return {k: _decode(v) for k, v in value.items()}


def _parsed(value: dict[str, Any]) -> Any:
    """json.loads' object_hook: each object as parsed, its own values already rebuilt."""
    return _untag(value) if _TAG in value else value


def _untag(value: dict[str, Any]) -> Any:
    """The value a tagged object stands for; what it holds is rebuilt already."""
    tag = value[_TAG]
    raw: Any = value.get("v")
    if tag == "dict":
        return {k: v for k, v in value["items"]}
    if tag == "tuple":
        return tuple(raw)
    if tag == "set":
        return set(raw)
    if tag == "frozenset":
        return frozenset(raw)
    if tag == "datetime":
        return dt.datetime.fromisoformat(raw)
    if tag == "date":
        return dt.date.fromisoformat(raw)
    if tag == "time":
        return dt.time.fromisoformat(raw)
    if tag == "timedelta":
        return dt.timedelta(seconds=raw)
    if tag == "uuid":
        return uuid.UUID(raw)
    if tag == "bytes":
        return base64.b64decode(raw)
    if tag == "decimal":
        return decimal.Decimal(raw)
    if tag == "enum":
        cls = _import_class(value["cls"])
        if not issubclass(cls, enum.Enum):
            raise SerializationError(f"Stored enum names {value['cls']!r}, which is not an Enum")
        return cls(raw)
    if tag == "pydantic":
        cls = _import_class(value["cls"])
        if not hasattr(cls, "model_validate"):
            raise SerializationError(f"Stored model names {value['cls']!r}, which is not a pydantic model")
        return cls.model_validate(raw)  # type: ignore[attr-defined]
    if tag == "dataclass":
        cls = _import_class(value["cls"])
        if not dataclasses.is_dataclass(cls):
            raise SerializationError(f"Stored dataclass names {value['cls']!r}, which is not a dataclass")
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        obj = cls(**{k: v for k, v in raw.items() if k in init})
        for k, v in raw.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj
    raise SerializationError(f"Unknown stored type tag {tag!r}: was this written by a newer Sluice?")


def to_jsonable(value: Any, where: str = "value") -> Any:
    """Turn a value into plain JSON data (tagged where JSON has no type for it)."""
    return _encode(value, where)


def from_jsonable(data: Any) -> Any:
    return _decode(data)


def check_state(values: dict[str, Any]) -> dict[str, Any]:
    """Encode a mapping key by key so an error names the offending state key."""
    return {key: _encode(v, f"key {key!r}") for key, v in values.items()}


# One encoder for every call: json.dumps with options builds a new one each time. What it encodes
# has been through _encode, where a cycle already fails, so it does not look for cycles again.
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=True, check_circular=False)
# JSONEncoder.encode still builds its C encoder on every call; this one is built once, with the same
# options (no cycle markers, ASCII strings, compact separators, NaN allowed), so the bytes are the same.
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # None without the C module
_C_ENCODE = None if _make_c_encoder is None else _make_c_encoder(
    None, _JSON.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
# json.loads builds a decoder on every call (and sniffs the bytes' encoding: ours are UTF-8).
_DECODER = json.JSONDecoder(object_hook=_parsed)


def _text(envelope: dict[str, Any]) -> str:
    if _C_ENCODE is None:
        return _JSON.encode(envelope)
    return "".join(_C_ENCODE(envelope, 0))


def dumps(value: Any, where: str = "value") -> bytes:
    """Serialise to bytes: `{"v": FORMAT_VERSION, "d": <tagged JSON>}`."""
    try:
        return _text({"v": FORMAT_VERSION, "d": _encode(value, where)}).encode()
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"Cannot serialise {where}: {exc}") from exc


def dumps_jsonable(data: Any) -> bytes:
    """Serialise data already made JSON-safe with to_jsonable / check_state."""
    return _text({"v": FORMAT_VERSION, "d": data}).encode()


def loads(data: bytes | str) -> Any:
    # One pass: the parser rebuilds tagged values as it meets them (no second walk over the data).
    try:
        envelope = _DECODER.decode(data.decode() if isinstance(data, (bytes, bytearray)) else data)
    except SerializationError:
        raise
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"Stored checkpoint data is not valid JSON: {exc}") from exc
    if not isinstance(envelope, dict) or envelope.get("v") != FORMAT_VERSION:
        version = envelope.get("v") if isinstance(envelope, dict) else None
        raise SerializationError(f"Stored data has format version {version!r}; this Sluice reads version {FORMAT_VERSION}")
    return envelope["d"]
