"""Request bodies of the HTTP API, validated as the LangGraph server does (422 on bad input).

Unknown fields are accepted and ignored: the SDK sends options we do not act on (webhook,
durability, ...), and refusing them would break unmodified clients.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from bot.api import listing

Breakpoints = Literal["*"] | list[str] | None
MAX_DEPTH = 100  # far beyond any real state, far below Python's recursion limit
HEX_AND_DASHES = re.compile(r"^[0-9a-fA-F-]{32,36}$")


def too_deep(value: Any, limit: int | None = None) -> bool:
    """Whether arrays/objects nest deeper than `limit`; counted without recursion, so a hostile body
    cannot exhaust the stack here (the engine's serialisers recurse, so they get bounded values)."""
    limit = MAX_DEPTH if limit is None else limit
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def is_uuid(value: str) -> bool:
    """A UUID written as hex digits (dashes optional): no braces, spaces, `|` or Slack markup. (What
    `uuid.UUID` reads, less its braces and `urn:uuid:` forms: 32 hex digits once dashes go.)"""
    return HEX_AND_DASHES.fullmatch(value) is not None and len(value) - value.count("-") == 32
STREAM_MODES = ("values", "updates", "custom", "messages-tuple", "messages")
MAX_PAGE = 1000  # the LangGraph server's bound on a page (limit 1..1000, offset >= 0)
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Field(ge=0)]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StateWrite(Body):
    values: Any = None
    as_node: str
    command: dict[str, Any] | None = None

    @field_validator("command")
    @classmethod
    def _no_command(cls, value: dict[str, Any] | None) -> None:
        if value:
            raise ValueError("commands in supersteps are not supported: give values and as_node")
        return None


class Superstep(Body):
    updates: list[StateWrite]


class ThreadCreate(Body):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    supersteps: list[Superstep] | None = None  # state updates applied in order to the new thread

    @field_validator("thread_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is not None and not is_uuid(value):
            raise ValueError("must be a UUID")
        return value


class ThreadPatch(Body):
    metadata: dict[str, Any] = {}


class ThreadCount(Body):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: ThreadStatus | None = None


SortOrder = Literal["asc", "desc"]
ThreadField = Literal["thread_id", "created_at", "updated_at", "metadata", "config", "context", "status", "values",
                      "interrupts"]
AssistantField = Literal["assistant_id", "graph_id", "name", "description", "config", "context", "created_at",
                         "updated_at", "metadata", "version"]


class ThreadSearch(ThreadCount):
    limit: Limit = 10
    offset: Offset = 0
    ids: list[str] | None = None
    sort_by: Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] | None = None
    sort_order: SortOrder | None = None
    select: list[ThreadField] | None = None
    extract: dict[str, str] | None = None

    @field_validator("ids")
    @classmethod
    def _uuids(cls, value: list[str] | None) -> list[str] | None:
        for thread_id in value or ():
            if not is_uuid(thread_id):
                raise ValueError(f"invalid thread ID {thread_id!r}: must be a UUID")
        return value

    @field_validator("extract")
    @classmethod
    def _paths(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value and len(value) > listing.MAX_EXTRACT:
            raise ValueError(f"at most {listing.MAX_EXTRACT} paths")
        for path in (value or {}).values():
            if (problem := listing.path_problem(path)) is not None:
                raise ValueError(problem)
        return value


class StateUpdate(Body):
    values: Any = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None

    @field_validator("values")
    @classmethod
    def _object_array_or_null(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (dict, list)):  # the server's schema
            raise ValueError("must be an object, an array or null")
        return value


class HistoryQuery(Body):
    limit: Limit = 10
    before: str | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None


class CheckpointQuery(Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = False


class AssistantCount(Body):
    graph_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None


class AssistantSearch(AssistantCount):
    limit: Limit = 10
    offset: Offset = 0
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: SortOrder | None = None
    select: list[AssistantField] | None = None


class CommandBody(Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunConfig(BaseModel):
    """A run's config as the LangGraph server types it (a 422 otherwise, before anything runs); other
    keys pass as given."""

    model_config = ConfigDict(extra="allow")
    tags: list[StrictStr] | None = None
    recursion_limit: StrictInt | None = None
    configurable: dict[str, Any] | None = None


class RunCreate(Body):
    assistant_id: str
    input: Any = None
    command: CommandBody | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    interrupt_before: Breakpoints = None
    interrupt_after: Breakpoints = None
    stream_mode: str | list[str] = "values"
    stream_subgraphs: bool = False
    multitask_strategy: Literal["reject", "enqueue", "interrupt", "rollback"] = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_completion: Literal["delete", "keep"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None  # runs.wait / runs.stream: cancel it if the client goes
    after_seconds: float | None = None

    @field_validator("config")
    @classmethod
    def _typed_config(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                RunConfig.model_validate(value)
            except ValidationError as exc:  # one line naming the key, as every other field's refusal
                raise ValueError(problems(exc)) from None
        return value

    @field_validator("after_seconds")
    @classmethod
    def _now(cls, value: float | None) -> float | None:
        if value:  # delaying it silently would run it at once, which is not what was asked
            raise ValueError("delayed runs are not supported: start the run when it is due (or send 0)")
        return value

    @field_validator("stream_mode")
    @classmethod
    def _modes(cls, value: str | list[str]) -> str | list[str]:
        for mode in [value] if isinstance(value, str) else value:
            if mode not in STREAM_MODES:
                raise ValueError(f"stream_mode {mode!r} is not supported; use one of {', '.join(STREAM_MODES)}")
        return value

    def command_dict(self) -> dict[str, Any] | None:
        """The command as sent: `resume` counts when present, even when its value is null."""
        if self.command is None:
            return None
        return {k: getattr(self.command, k) for k in self.command.model_fields_set}


def _loads(raw: bytes) -> Any:
    """The body's JSON: orjson's parser, or the stdlib's for whatever orjson refuses (NaN, integers
    beyond 64 bits, nesting past 1024, lone surrogates), so the bodies accepted stay the same."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


async def parse(request: web.Request, model: type[Body], *, optional: bool = False) -> Any:
    """The request's JSON body as `model`; raises 422 with a detail naming the bad field."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise web.HTTPUnprocessableEntity(text=json.dumps({"detail": "Request body is required"}),
                                          content_type="application/json")
    try:
        data = _loads(raw)
    except (ValueError, RecursionError) as exc:
        raise web.HTTPUnprocessableEntity(text=json.dumps({"detail": f"Invalid JSON body: {exc}"}),
                                          content_type="application/json") from None
    # A value nests no deeper than the brackets its text opens: most bodies are not walked at all.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and too_deep(data):
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"detail": f"JSON body is nested deeper than {MAX_DEPTH} levels"}),
            content_type="application/json",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise web.HTTPUnprocessableEntity(text=json.dumps({"detail": problems(exc)}),
                                          content_type="application/json") from None


def problems(exc: ValidationError) -> str:
    """A validation error as one line naming each bad field: `limit: Input should be ...; ...`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False))
