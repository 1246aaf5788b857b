"""State schemas (TypedDict, dataclass, pydantic) and how writes combine into state.

Each state key is a channel: without a reducer it takes one write per step (two is an error);
with `Annotated[T, reducer]` every write of the step is folded in with the reducer, in task order.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from .errors import InvalidUpdateError

Reducer = Callable[[Any, Any], Any]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    reducer: Reducer | None
    initial: Callable[[], Any] | None = None  # reducer keys start from their type's empty value


def _empty_factory(hint: Any) -> Callable[[], Any] | None:
    base = get_args(hint)[0] if get_origin(hint) is Annotated else hint
    factory = get_origin(base) or base
    if not callable(factory):
        return None
    try:
        factory()
    except Exception:
        return None
    return factory  # type: ignore[no-any-return]


def _reducer_of(hint: Any) -> Reducer | None:
    if get_origin(hint) is not Annotated:
        return None
    for meta in reversed(get_args(hint)[1:]):
        if callable(meta) and _takes_two_args(meta):
            return meta  # type: ignore[no-any-return]
    return None


def _takes_two_args(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True  # builtins such as operator.add have no inspectable signature on some versions
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_fields") and hasattr(schema, "model_validate")


class StateSchema:
    """What the engine needs to know about a state class."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.kind = "pydantic" if _is_pydantic(schema) else "dataclass" if dataclasses.is_dataclass(schema) else "dict"
        hints = self._hints(schema)
        self.channels: dict[str, Channel] = {}
        for name, hint in hints.items():
            reducer = _reducer_of(hint)
            self.channels[name] = Channel(name, reducer, _empty_factory(hint) if reducer else None)

    def initial_values(self) -> dict[str, Any]:
        return {c.name: c.initial() for c in self.channels.values() if c.initial is not None}

    @staticmethod
    def _hints(schema: Any) -> dict[str, Any]:
        if schema is dict or schema is None:
            return {}
        try:
            return get_type_hints(schema, include_extras=True)
        except Exception:  # forward references that cannot be resolved: fall back to raw annotations
            return dict(getattr(schema, "__annotations__", {}))

    @property
    def keys(self) -> Iterable[str]:
        return self.channels.keys()

    def accepts_any_key(self) -> bool:
        return not self.channels

    def to_node_input(self, values: dict[str, Any]) -> Any:
        """The object a node receives: a dict for TypedDict state, an instance for dataclass/pydantic."""
        if self.kind == "dict":
            return dict(values)
        if self.kind == "pydantic":
            return self.schema.model_validate(values)
        return self.schema(**values)

    def update_from(self, value: Any, node: str) -> dict[str, Any] | None:
        """Turn a node's return value into a {key: value} update (unknown keys are dropped)."""
        if value is None:
            return None
        if _is_pydantic(type(value)):
            data = {k: getattr(value, k) for k in type(value).model_fields}
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            data = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        elif isinstance(value, dict):
            data = value
        else:
            raise InvalidUpdateError(f"Expected dict, got {value}. Node {node!r} must return a dict of state updates.")
        if self.accepts_any_key():
            return dict(data)
        return {k: v for k, v in data.items() if k in self.channels}

    def input_values(self, value: Any) -> dict[str, Any]:
        """Validate and normalise graph input the way a node update is."""
        if _is_pydantic(self.schema) and isinstance(value, dict):
            # Validate the input against the model, but only keep keys the caller gave.
            self.schema.model_validate({**self._defaults(), **value})
        update = self.update_from(value, "__start__")
        return update or {}

    def _defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.schema.model_fields.items():
            if not field.is_required():
                out[name] = field.get_default(call_default_factory=True)
        return out

    def apply(self, values: dict[str, Any], writes: list[tuple[str, Any]]) -> set[str]:
        """Fold one step's writes (already in task order) into `values`; return the keys changed."""
        grouped: dict[str, list[Any]] = {}
        for key, value in writes:
            grouped.setdefault(key, []).append(value)
        for key, items in grouped.items():
            channel = self.channels.get(key)
            reducer = channel.reducer if channel else None
            if reducer is None:
                if len(items) > 1:
                    raise InvalidUpdateError(
                        f"At key '{key}': Can receive only one value per step. "
                        "Use an Annotated key to handle multiple values."
                    )
                values[key] = items[0]
                continue
            current = values.get(key, _MISSING)
            for item in items:
                current = item if current is _MISSING else reducer(current, item)
            values[key] = current
        return set(grouped)
