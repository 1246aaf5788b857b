"""Ids and plain JSON values the runs layer makes."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from bot.runs.ids import new_id
from bot.runs.plain_json import _to_wire, to_wire
from engine import Interrupt


def test_new_ids_are_version_4_uuids_as_uuid4_writes_them() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.Enum):
    HIGH = 3


class Text(str):
    pass


def test_plain_json_types_walked_directly_give_what_the_general_walk_gives() -> None:
    values: list[Any] = [
        None, True, 0, -1.5, "text", [], {}, (1, "a"),
        {"a": [1, {"b": (None, 2.0)}], "c": {"d": {"e": []}}},
        {1: "int key", False: "bool key", None: "none key", 2.5: "float key"},
        {"enum": Colour.RED, "plain_enum": Level.HIGH, "sub": Text("t"), "set": {1}},
        [Interrupt(value={"q": 1}, id="0" * 32), {"nested": (Colour.RED,)}],
    ]
    for value in values:
        walked = to_wire(value)
        assert walked == _to_wire(value)
        assert [type(x) for x in _leaves(walked)] == [type(x) for x in _leaves(_to_wire(value))]
    shared: dict[str, Any] = {"list": [1]}
    copied = to_wire(shared)
    assert copied == shared and copied is not shared and copied["list"] is not shared["list"]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in (k, *_leaves(v))]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_decimals_and_durations_as_the_server_writes_them() -> None:
    """Observed on langgraph dev (langgraph-api 0.16.7): an interrupt value with a Decimal and a timedelta
    comes back as 1.5 and 90.0 (was "Decimal('1.5')" and "datetime.timedelta(seconds=90)")."""
    import datetime
    import decimal

    value = {"d": decimal.Decimal("1.5"), "td": datetime.timedelta(seconds=90), "b": b"hi"}
    assert to_wire(value) == {"d": 1.5, "td": 90.0, "b": "aGk="}
