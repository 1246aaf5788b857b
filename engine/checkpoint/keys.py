"""The Redis keyspace of a thread: two keys, one hash tag, so every script on a thread is one slot.

  sluice:{<thread>}:cp    hash   h:<ns>              -> head checkpoint id of the namespace
                                 c:<ns>\\0<id>        -> parent id, \\0, checkpoint blob
                                 w:<ns>\\0<id>        -> the checkpoint's pending writes (see redis_scripts)
                                 x:<ns>\\0<id>        -> token of the last exclusive write (a retried claim wins)
  sluice:{<thread>}:hist  zset   <ns>\\0<id>, score 0 -> history index, ordered by id (ids are time-ordered)

Namespaces ("" for the root graph, "node:<task>" for subgraphs) live inside the same two keys, so a
thread has a fixed key set: deleting it is one DEL, with no index to keep and nothing to scan.
"""

from __future__ import annotations

import functools

from ..errors import CheckpointerError, ConfigError

PREFIX = "sluice"
SEP = "\0"  # ends a namespace inside field names and index members; never part of a namespace or id
HEAD = "h:"
BLOB = "c:"
WRITES = "w:"
CLAIM = "x:"


def check_thread_id(thread_id: str) -> str:
    """Reject ids that would break the `{...}` hash tag (and so spread a thread over cluster slots)."""
    if not isinstance(thread_id, str) or not thread_id:
        raise ConfigError(f"Thread id must be a non-empty string, got {thread_id!r}")
    if "{" in thread_id or "}" in thread_id:
        raise ConfigError(
            f"Thread id {thread_id!r} contains '{{' or '}}', which Redis Cluster reads as a hash tag: "
            "use an id without braces"
        )
    return thread_id


def _check_part(value: str, what: str) -> str:
    if SEP in value:
        raise CheckpointerError(f"A {what} cannot contain a NUL character: {value!r}")
    return value


def check_names(ns: str, *checkpoint_ids: str) -> None:
    """Namespaces and ids end at SEP in field names, so they must not contain it."""
    _check_part(ns, "namespace")
    for checkpoint_id in checkpoint_ids:
        _check_part(checkpoint_id, "checkpoint id")


def thread_tag(thread_id: str) -> str:
    """The start of every key of a thread, here and in the bot's records: one hash tag, one slot."""
    if not isinstance(thread_id, str):
        check_thread_id(thread_id)  # refused, with its reason (an unhashable id too)
    return _tag(thread_id)


@functools.lru_cache(maxsize=4096)  # a run builds its thread's keys a few dozen times; an id refused is not kept
def _tag(thread_id: str) -> str:
    return f"{PREFIX}:{{{check_thread_id(thread_id)}}}"


def checkpoint_key(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:cp"


def history_key(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:hist"


def thread_keys(thread_id: str) -> list[str]:
    """Every key of the thread, in the order the scripts expect them as KEYS[1], KEYS[2]."""
    return [checkpoint_key(thread_id), history_key(thread_id)]


def member(ns: str, checkpoint_id: str) -> str:
    """The history-index member of a checkpoint; field names add the BLOB / WRITES prefix to it."""
    return _check_part(ns, "namespace") + SEP + _check_part(checkpoint_id, "checkpoint id")


def history_range(ns: str, before: str | None) -> tuple[str, str]:
    """ZREVRANGEBYLEX bounds (max, min) selecting the namespace's members, older than `before`."""
    low = "[" + _check_part(ns, "namespace") + SEP
    high = "(" + member(ns, before) if before is not None else "(" + ns + "\x01"  # \x01 sorts right after SEP
    return high, low
