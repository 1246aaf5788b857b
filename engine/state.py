"""State schemas (TypedDict, dataclass, pydantic, or a single root value) and how writes combine.

Each state key is a channel: without a reducer it takes one write per step (two is an error);
with `Annotated[T, reducer]` every write of the step is folded in with the reducer, in task order,
unless one of them is an `Overwrite`. A schema without fields (`Annotated[list, operator.add]`)
is one root channel: nodes receive its value and return the new one.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, Required, get_args, get_origin, get_type_hints

from .errors import GraphBuildError, InvalidUpdateError
from .managed import ManagedValue
from .types import Command, Overwrite

Reducer = Callable[[Any, Any], Any]
Writes = list[tuple[str, Any]]
ROOT = "__root__"
OVERWRITE = "__overwrite__"
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    reducer: Reducer | None
    initial: Callable[[], Any] | None = None  # reducer keys start from their type's empty value


def _unwrap_required(hint: Any) -> Any:
    while get_origin(hint) in (Required, NotRequired):
        hint = get_args(hint)[0]
    return hint


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
    """The reducer of `Annotated[T, ..., reducer]`: its last metadata item, when callable."""
    if get_origin(hint) is not Annotated:
        return None
    meta = get_args(hint)[-1]
    if not callable(meta) or isinstance(meta, type):
        return None
    if not _takes_two_args(meta):
        raise GraphBuildError(f"Invalid reducer signature. Expected (a, b) -> c. Got {meta!r}")
    return meta  # type: ignore[no-any-return]


def _managed_of(hint: Any) -> ManagedValue | None:
    if get_origin(hint) is not Annotated:
        return None
    return next((m for m in get_args(hint)[1:] if isinstance(m, ManagedValue)), None)


def _takes_two_args(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True  # builtins such as operator.add have no inspectable signature on some versions
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_fields") and hasattr(schema, "model_validate")


def is_overwrite(value: Any) -> bool:
    kind = type(value)  # exact types: this runs for every write
    return kind is Overwrite or (kind is dict and len(value) == 1 and OVERWRITE in value)


def _overwritten(value: Any) -> Any:
    return value.value if isinstance(value, Overwrite) else value[OVERWRITE]


def _fields_of(value: Any) -> dict[str, Any] | None:
    """A pydantic model's or dataclass's fields as an update: unset None fields are left out."""
    if _is_pydantic(type(value)):
        fields = type(value).model_fields
        explicit = value.model_fields_set
        return {
            k: v for k in fields
            if (v := getattr(value, k)) is not None or fields[k].default is not None or k in explicit
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None


class StateSchema:
    """What the engine needs to know about a state class (or several merged: a graph's channels)."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.channels: dict[str, Channel] = {}
        self.managed: dict[str, ManagedValue] = {}
        if schema is not None and not hasattr(schema, "__annotations__"):
            self.kind = "root"
            reducer = _reducer_of(schema)
            self.channels[ROOT] = Channel(ROOT, reducer, _empty_factory(schema) if reducer else None)
            return
        self.kind = "pydantic" if _is_pydantic(schema) else "dataclass" if dataclasses.is_dataclass(schema) else "dict"
        for name, hint in self._hints(schema).items():
            hint = _unwrap_required(hint)
            if (managed := _managed_of(hint)) is not None:
                self.managed[name] = managed
                continue
            reducer = _reducer_of(hint)
            self.channels[name] = Channel(name, reducer, _empty_factory(hint) if reducer else None)

    def merged(self, others: Iterable[StateSchema]) -> StateSchema:
        """This schema, also holding the channels of `others` (private and output-only keys)."""
        out = object.__new__(StateSchema)
        out.__dict__.update(self.__dict__)
        out.channels = dict(self.channels)
        out.managed = dict(self.managed)
        for other in others:
            for name, channel in other.channels.items():
                out.channels.setdefault(name, channel)
            for name, managed in other.managed.items():
                out.managed.setdefault(name, managed)
        return out

    def initial_values(self) -> dict[str, Any]:
        return {c.name: c.initial() for c in self.channels.values() if c.initial is not None}

    @staticmethod
    def _hints(schema: Any) -> dict[str, Any]:
        if schema is None:
            return {}
        try:
            hints = get_type_hints(schema, include_extras=True)
        except Exception:  # forward references that cannot be resolved: fall back to raw annotations
            hints = dict(getattr(schema, "__annotations__", {}))
        return {k: v for k, v in hints.items() if k != "__slots__"}

    @property
    def keys(self) -> Iterable[str]:
        return self.channels.keys()

    def accepts_any_key(self) -> bool:
        return not self.channels and self.kind != "root"

    def to_node_input(self, values: dict[str, Any], steps_left: int | None = None) -> Any:
        """The object a node receives: a dict of this schema's keys for TypedDict state, an instance
        for dataclass/pydantic, the value itself for a root schema."""
        if self.kind == "root":
            return values.get(ROOT)
        own = dict(values) if self.accepts_any_key() else {k: values[k] for k in self.channels if k in values}
        if self.managed and steps_left is not None:
            own.update({k: m.value(steps_left) for k, m in self.managed.items()})
        if self.kind == "dict":
            return own
        if self.kind == "pydantic":
            return self.schema.model_validate(own)
        return self.schema(**own)

    def output(self, values: dict[str, Any], keys: frozenset[str] | None = None) -> Any:
        """What a caller sees of `values`: the root value, or the keys given (default: all)."""
        if self.kind == "root":
            return values.get(ROOT)
        if self.accepts_any_key():
            return dict(values) if keys is None else {k: v for k, v in values.items() if k in keys}
        # In the order the schemas declare their keys, as LangGraph shows them.
        return {k: values[k] for k in self.channels if k in values and (keys is None or k in keys)}

    # -- writes ----------------------------------------------------------------------------------
    def writes_of(self, value: Any, node: str) -> Writes | None:
        """A node's return value (not a Command) as writes; keys that are no channel are dropped."""
        if value is None:
            return None
        if self.kind == "root":
            return [(ROOT, value)]
        data = value if isinstance(value, dict) else _fields_of(value)
        if data is None:
            raise InvalidUpdateError(f"Expected dict, got {value}. Node {node!r} must return a dict of state updates.")
        return self._known(data.items())

    def command_writes(self, update: Any) -> Writes:
        """A Command's `update=` as writes: a dict, (key, value) pairs, a model instance, or a root value."""
        if update is None:
            return []
        if isinstance(update, dict):
            return self._known(update.items())
        if isinstance(update, (list, tuple)) and all(
            isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in update
        ) and (update or self.kind != "root"):
            return self._known(update)
        fields = _fields_of(update)
        if fields is not None:
            return self._known(fields.items())
        return [(ROOT, update)] if self.kind == "root" else self.writes_of(update, "__command__") or []

    def result_writes(self, result: Any, node: str) -> tuple[Writes, Any, list[Any]]:
        """A node's return as (writes, what `updates` streaming shows, goto targets).

        A list holding any Command is several updates, applied in order; streaming shows each."""
        if isinstance(result, Command):
            writes = self.command_writes(result.update)
            return writes, None if result.update is None else self._shown(writes), result.goto_targets()
        if isinstance(result, (list, tuple)) and result and any(isinstance(r, Command) for r in result):
            all_writes: Writes = []
            shown: list[Any] = []
            goto: list[Any] = []
            for item in result:
                if isinstance(item, Command):
                    item_writes = self.command_writes(item.update)
                    goto.extend(item.goto_targets())
                else:
                    item_writes = self.writes_of(item, node) or []
                all_writes.extend(item_writes)
                shown.append(self._shown(item_writes))
            return all_writes, shown, goto
        own = self.writes_of(result, node)
        return (own or [], None if own is None else self._shown(own), [])

    def _shown(self, writes: Writes) -> Any:
        if self.kind == "root":
            return writes[0][1] if len(writes) == 1 else [v for _, v in writes]
        return dict(writes)

    def _known(self, items: Iterable[tuple[str, Any]]) -> Writes:
        if self.accepts_any_key():
            return list(items)
        return [(k, v) for k, v in items if k in self.channels]

    def update_from(self, value: Any, node: str) -> dict[str, Any] | None:
        """Turn a node's return value into a {key: value} update (unknown keys are dropped)."""
        writes = self.writes_of(value, node)
        return None if writes is None else dict(writes)

    def input_values(self, value: Any, keys: frozenset[str] | None = None) -> dict[str, Any]:
        """Validate and normalise graph input the way a node update is (only `keys`, when given)."""
        if isinstance(value, dict) and keys is not None and self.kind != "root":
            value = {k: v for k, v in value.items() if k in keys}
        if _is_pydantic(self.schema) and isinstance(value, dict):
            # Validate the input against the model, but only keep keys the caller gave.
            known = {k: v for k, v in value.items() if k in self.channels}
            self.schema.model_validate({**self._defaults(), **self.initial_values(), **known})
        return self.update_from(value, "__start__") or {}

    def _defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.schema.model_fields.items():
            if not field.is_required():
                out[name] = field.get_default(call_default_factory=True)
        return out

    def apply(self, values: dict[str, Any], writes: Iterable[tuple[str, Any]]) -> set[str]:
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
                values[key] = _overwritten(items[0]) if is_overwrite(items[0]) else items[0]
                continue
            values[key] = _reduce(reducer, values.get(key, _MISSING), items)
        return set(grouped)


def _reduce(reducer: Reducer, current: Any, items: list[Any]) -> Any:
    overwrites = [item for item in items if is_overwrite(item)]
    if len(overwrites) > 1:
        raise InvalidUpdateError("Can receive only one Overwrite value per super-step.")
    if overwrites:
        return _overwritten(overwrites[0])  # replaces the value and this step's other writes
    for item in items:
        current = item if current is _MISSING else reducer(current, item)
    return current
