"""Where the bot keeps its pauses: Redis when there is one (shared by every bot process), else memory.

Per pause, three keys of its thread's hash tag (the thread's current pause, the pause, its
decisions: one slot on Redis Cluster); two indexes, one key each: pending pauses by channel, and
pause by posted message (channel, ts). The keys are built in `bot.keys`.
A decision is recorded by one Lua script, so two clicks anywhere make exactly one resume.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot import keys
from bot.slack import store_scripts as scripts
from bot.slack.coalesce import Steps
from bot.slack.pause import Pause
from bot.slack.prompts import SlotDecision

TTL_S = 30 * 24 * 3600
DECODED_PAUSES = 1024  # pauses kept decoded, by their stored JSON (a burst of clicks reads each a few times)
# ... and at most this much of that JSON: a pause may carry a long document to review (the decoded
# objects weigh several times their JSON), and 1024 of those would be gigabytes
DECODED_CHARS = 16 * 1024 * 1024
# recorded: the slot's group still needs decisions; group: the slot completed its group, other groups
# of the pause are still open; complete: every slot of the pause is decided.
Outcome = Literal["unknown", "stale", "closed", "taken", "recorded", "group", "complete"]


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    decided: Mapping[str, SlotDecision]
    # The decision completed the pause and took its resume's claim with the token it was given (`decide`'s
    # `claim`): the claim's attempt number. None: not taken with it (the caller claims, `bot.slack.resumption`).
    claimed_attempt: int | None = None


@dataclass(frozen=True)
class Look:
    """What a decision is checked against, read at once (`PauseStore.look`)."""

    pause: Pause | None
    at_message: tuple[str, str] | None  # the pause posted as the message (channel, ts), if one was asked about
    current: str | None  # the thread's current pause
    status: str | None
    decided: dict[str, SlotDecision]


class PauseStore(Protocol):
    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        """Stores a pending pause and makes it the thread's current one.

        Returns whether it is new (a pause reported twice is posted once) and the previous current id.
        """

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None: ...

    async def current(self, thread_id: str) -> str | None: ...

    async def set_posted(self, pause: Pause, opened_in: str | None = None) -> None:
        """Saves where the pause's message is (channel, ts) and indexes it by message. `opened_in`: the
        channel it was opened (and listed as pending) under, when Slack answered the post with another
        name for it (the id of a channel named `#general`): it is then listed under that one."""

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None: ...

    async def in_slack_thread(self, channel: str, thread_ts: str) -> str | None:
        """The thread whose pauses were last posted as replies in the Slack thread `thread_ts`."""

    async def decide(
        self, pause: Pause, slot: str, decision: SlotDecision, first: Sequence[tuple[Any, ...]] = (),
        claim: tuple[str, int] | None = None,
    ) -> Recorded:
        """Records one slot's decision if the pause is current, pending and the slot undecided;
        says whether that completed the slot's group, or the whole pause. `first`: Redis commands
        that must run before it (the due index: `Resumptions.expecting`), in the same round trip
        where one server keeps their order, else before it (memory has none). `claim` (a token and
        how long to hold it, ms): a decision that completes the pause also takes its resume's claim,
        as `Resumptions.claim` would, if the store can (Redis: in the same script)."""

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]: ...

    async def look(self, thread_id: str, checkpoint_id: str, message: tuple[str, str] | None = None) -> Look:
        """The pause, the one posted as `message`, the thread's current pause, the pause's status and its
        decisions: what a click is checked against, in one round trip."""

    async def settle(self, pause: Pause, decisions: Mapping[str, SlotDecision]) -> bool:
        """A deadline decides the undecided `decisions` at once, if the pause is still current and
        pending (then it is `resuming`); False when a person's decision came first."""

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None: ...

    async def undo(self, pause: Pause, slot: str) -> None:
        """Forgets a slot's decision and reopens the pause (its resume could not be started)."""

    async def close(self, pause: Pause, status: str) -> None:
        """Marks the pause done (decided / stale / answered elsewhere) and drops it from the index."""

    async def leave(self, thread_id: str) -> str | None:
        """The thread has no pending pause any more; returns the one that was current."""

    async def pending(self, channel: str) -> list[tuple[str, str]]: ...

    async def channels(self) -> list[str]:
        """Every channel that has had a pending pause (the App Home lists them all)."""


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _decoded(raw: Mapping[Any, Any]) -> dict[str, SlotDecision]:
    return {(k.decode() if isinstance(k, bytes) else k): SlotDecision.from_json(json.loads(v)) for k, v in raw.items()}


def _indexed(pause: Pause) -> list[tuple[str, str]]:
    """The messages a click may come from: every posted one, and the escalation's."""
    out = [(pause.placement.channel, ts) for ts in pause.messages] if pause.placement else []
    if pause.escalated is not None and pause.escalated.thread_ts:
        out += [(pause.escalated.channel, ts) for ts in (pause.escalated.thread_ts, *pause.escalated_more)]
    return out


class _Decoded:
    """Pauses decoded from their stored JSON, kept by that very JSON: a click reads its pause when it is
    checked, again before its message is updated, and its run's end reads it again; each decoding
    (JSON, the dataclasses, then classifying its prompts on first use) was ~60 µs. The same bytes
    always decode to an equal pause, and a Pause is frozen, so one instance serves every read of
    them (its prompts and groups computed once). Bounded in entries and in the length of their JSON:
    the oldest entries go first; a JSON longer than the whole bound is decoded and not kept."""

    def __init__(self, size: int = DECODED_PAUSES, chars: int = DECODED_CHARS) -> None:
        self._size = size
        self._chars = chars
        self._kept = 0  # the length of the JSON kept
        self._pauses: dict[bytes | str, Pause] = {}

    def __call__(self, raw: bytes | str) -> Pause:
        pause = self._pauses.get(raw)
        if pause is None:
            pause = Pause.from_json(raw)
            if len(raw) > self._chars:
                return pause
            self._pauses[raw] = pause
            self._kept += len(raw)
            while len(self._pauses) > self._size or self._kept > self._chars:
                oldest = next(iter(self._pauses))
                del self._pauses[oldest]
                self._kept -= len(oldest)
        return pause


# --- memory ---------------------------------------------------------------------------------


class MemoryPauseStore:
    """One process only; every method runs without awaiting, so each is atomic under asyncio."""

    def __init__(self) -> None:
        self._pauses: dict[tuple[str, str], Pause] = {}
        self._status: dict[tuple[str, str], str] = {}
        self._decided: dict[tuple[str, str], dict[str, SlotDecision]] = {}
        self._current: dict[str, str] = {}
        self._messages: dict[tuple[str, str], tuple[str, str]] = {}
        self._in_thread: dict[tuple[str, str], str] = {}

    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        key = (pause.thread_id, pause.checkpoint_id)
        previous = self._current.get(pause.thread_id)
        created = key not in self._pauses
        if created:
            self._pauses[key] = pause
            self._status[key] = "pending"
            self._decided[key] = {}
        self._current[pause.thread_id] = pause.checkpoint_id
        return created, previous if previous != pause.checkpoint_id else None

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None:
        return self._pauses.get((thread_id, checkpoint_id))

    async def current(self, thread_id: str) -> str | None:
        return self._current.get(thread_id)

    async def set_posted(self, pause: Pause, opened_in: str | None = None) -> None:
        key = (pause.thread_id, pause.checkpoint_id)  # listed by its placement: nothing to move
        self._pauses[key] = pause
        for channel, ts in _indexed(pause):
            self._messages[(channel, ts)] = key
        if pause.placement and pause.placement.thread_ts:
            self._in_thread[(pause.placement.channel, pause.placement.thread_ts)] = pause.thread_id

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None:
        return self._messages.get((channel, ts))

    async def in_slack_thread(self, channel: str, thread_ts: str) -> str | None:
        return self._in_thread.get((channel, thread_ts))

    async def decide(
        self, pause: Pause, slot: str, decision: SlotDecision, first: Sequence[tuple[Any, ...]] = (),
        claim: tuple[str, int] | None = None,
    ) -> Recorded:
        key = (pause.thread_id, pause.checkpoint_id)
        if key not in self._pauses:
            return Recorded("unknown", {})
        decided = self._decided[key]
        if self._current.get(pause.thread_id) != pause.checkpoint_id:
            return Recorded("stale", dict(decided))
        if self._status[key] != "pending":
            return Recorded("closed", dict(decided))
        if slot in decided:
            return Recorded("taken", dict(decided))
        decided[slot] = decision
        if len(decided) >= len(pause.slot_keys()):
            self._status[key] = "resuming"
            return Recorded("complete", dict(decided))
        group = pause.group_slots(pause.group_of(int(slot.split(".")[0])))
        return Recorded("group" if all(s in decided for s in group) else "recorded", dict(decided))

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]:
        return dict(self._decided.get((thread_id, checkpoint_id), {}))

    async def look(self, thread_id: str, checkpoint_id: str, message: tuple[str, str] | None = None) -> Look:
        key = (thread_id, checkpoint_id)
        at = self._messages.get(message) if message is not None else None
        return Look(self._pauses.get(key), at, self._current.get(thread_id), self._status.get(key),
                    dict(self._decided.get(key, {})))

    async def settle(self, pause: Pause, decisions: Mapping[str, SlotDecision]) -> bool:
        key = (pause.thread_id, pause.checkpoint_id)
        if self._current.get(pause.thread_id) != pause.checkpoint_id or self._status.get(key) != "pending":
            return False
        for slot, decision in decisions.items():
            self._decided[key].setdefault(slot, decision)
        self._status[key] = "resuming"
        return True

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None:
        return self._status.get((thread_id, checkpoint_id))

    async def undo(self, pause: Pause, slot: str) -> None:
        key = (pause.thread_id, pause.checkpoint_id)
        self._decided.get(key, {}).pop(slot, None)
        if key in self._status:
            self._status[key] = "pending"

    async def close(self, pause: Pause, status: str) -> None:
        self._status[(pause.thread_id, pause.checkpoint_id)] = status

    async def leave(self, thread_id: str) -> str | None:
        return self._current.pop(thread_id, None)

    def forget_thread(self, thread_id: str) -> list[str]:
        """The thread was deleted: its pauses, statuses, decisions and message links go (the Redis
        store's go with the thread's records, `bot.runs.store_redis`). Returns their checkpoint ids."""
        gone = [key for key in self._pauses if key[0] == thread_id]
        for key in gone:
            for table in (self._pauses, self._status, self._decided):
                table.pop(key, None)
        for message, key in list(self._messages.items()):
            if key[0] == thread_id:
                del self._messages[message]
        for message, named in list(self._in_thread.items()):
            if named == thread_id:
                del self._in_thread[message]
        self._current.pop(thread_id, None)
        return [checkpoint_id for _, checkpoint_id in gone]

    async def channels(self) -> list[str]:
        return sorted({p.placement.channel for p in self._pauses.values() if p.placement})

    async def pending(self, channel: str) -> list[tuple[str, str]]:
        out = []
        for (thread_id, checkpoint_id), pause in sorted(self._pauses.items(), key=lambda kv: kv[1].created_at):
            if (
                self._status.get((thread_id, checkpoint_id)) == "pending"
                and self._current.get(thread_id) == checkpoint_id
                and pause.placement is not None
                and pause.placement.channel == channel
            ):
                out.append((thread_id, checkpoint_id))
        return out


# --- redis ----------------------------------------------------------------------------------


class RedisPauseStore:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._decide = redis.register_script(scripts.DECIDE)
        self._open = redis.register_script(scripts.OPEN)
        self._undo = redis.register_script(scripts.UNDO)
        self._settle = redis.register_script(scripts.SETTLE)
        self._steps = Steps(redis)  # a click's reads and its decision share a burst's round trips
        self._decoded = _Decoded()

    @staticmethod
    def _keys(thread_id: str, checkpoint_id: str) -> list[str]:
        """The KEYS of every pause script: current, pause, decided."""
        return [
            keys.slack_current(thread_id),
            keys.slack_pause(thread_id, checkpoint_id),
            keys.slack_decided(thread_id, checkpoint_id),
        ]

    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        pause_keys = [*self._keys(pause.thread_id, pause.checkpoint_id), keys.slack_pauses(pause.thread_id)]
        args = [pause.checkpoint_id, pause.to_json(), TTL_S, uuid.uuid4().hex]
        commands = [self._steps.script(self._open, pause_keys, args)]
        if pause.placement:  # indexed before it is posted: a pause Slack refused can be re-posted
            member = f"{pause.thread_id} {pause.checkpoint_id}"
            commands.append(("ZADD", keys.slack_pending(pause.placement.channel), pause.created_at, member))
            commands.append(("SADD", keys.SLACK_CHANNELS, pause.placement.channel))
        (created, previous), *_ = await self._steps.run(*commands)  # one round trip (was three)
        return bool(created), _text(previous) or None

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None:
        raw = await self._steps.one("HGET", keys.slack_pause(thread_id, checkpoint_id), "data")
        return self._decoded(raw) if raw else None

    async def current(self, thread_id: str) -> str | None:
        return _text(await self._steps.one("GET", keys.slack_current(thread_id)))

    async def set_posted(self, pause: Pause, opened_in: str | None = None) -> None:
        member = f"{pause.thread_id} {pause.checkpoint_id}"
        moved: list[tuple[Any, ...]] = []
        if pause.placement and opened_in and opened_in != pause.placement.channel:
            channel = pause.placement.channel
            moved = [("ZREM", keys.slack_pending(opened_in), member),
                     ("ZADD", keys.slack_pending(channel), pause.created_at, member),
                     ("SADD", keys.SLACK_CHANNELS, channel)]
        await self._steps.run(
            ("HSET", keys.slack_pause(pause.thread_id, pause.checkpoint_id), "data", pause.to_json()),
            *(("SET", keys.slack_message(channel, ts), member, "EX", TTL_S) for channel, ts in _indexed(pause)),
            *moved,
            *([("SET", keys.slack_in_thread(pause.placement.channel, pause.placement.thread_ts), pause.thread_id,
                "EX", TTL_S)] if pause.placement and pause.placement.thread_ts else []),
        )

    async def in_slack_thread(self, channel: str, thread_ts: str) -> str | None:
        return _text(await self._steps.one("GET", keys.slack_in_thread(channel, thread_ts)))

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None:
        raw = _text(await self._steps.one("GET", keys.slack_message(channel, ts)))
        if not raw:
            return None
        thread_id, checkpoint_id = raw.split(" ", 1)
        return thread_id, checkpoint_id

    async def decide(
        self, pause: Pause, slot: str, decision: SlotDecision, first: Sequence[tuple[Any, ...]] = (),
        claim: tuple[str, int] | None = None,
    ) -> Recorded:
        pause_keys = self._keys(pause.thread_id, pause.checkpoint_id)
        group = pause.group_slots(pause.group_of(int(slot.split(".")[0])))
        call = uuid.uuid4().hex
        token, hold_ms = claim or ("", 0)
        args = [pause.checkpoint_id, slot, json.dumps(decision.to_json()), len(pause.slot_keys()), TTL_S, call,
                token, hold_ms, *group]
        command = self._steps.script(self._decide, pause_keys, args)
        if first and self._steps.ordered:  # the due index, then the decision: one round trip
            *_, (outcome, flat, attempt) = await self._steps.run(*first, command)
        else:
            if first:
                await self._steps.run(*first)
            outcome, flat, attempt = await self._steps.one(*command)
        decided = _decoded(dict(zip(flat[::2], flat[1::2], strict=True)))
        return Recorded(_text(outcome), decided, int(attempt) if int(attempt) >= 0 else None)  # type: ignore[arg-type]

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]:
        return _decoded(await self._steps.one("HGETALL", keys.slack_decided(thread_id, checkpoint_id)))

    async def look(self, thread_id: str, checkpoint_id: str, message: tuple[str, str] | None = None) -> Look:
        reads: list[tuple[Any, ...]] = [
            ("HMGET", keys.slack_pause(thread_id, checkpoint_id), "data", "status"),
            ("GET", keys.slack_current(thread_id)),
            ("HGETALL", keys.slack_decided(thread_id, checkpoint_id)),
        ]
        if message is not None:
            reads.append(("GET", keys.slack_message(*message)))
        (raw, status), current, decided, *at = await self._steps.run(*reads)
        found = _text(at[0]) if at and at[0] else None
        at_message = tuple(found.split(" ", 1)) if found else None
        return Look(self._decoded(raw) if raw else None, at_message, _text(current), _text(status),  # type: ignore[arg-type]
                    _decoded(decided))

    async def settle(self, pause: Pause, decisions: Mapping[str, SlotDecision]) -> bool:
        pairs = [part for slot, d in decisions.items() for part in (slot, json.dumps(d.to_json()))]
        pause_keys = self._keys(pause.thread_id, pause.checkpoint_id)
        return bool(await self._settle(keys=pause_keys, args=[pause.checkpoint_id, TTL_S, *pairs]))

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None:
        return _text(await self._steps.one("HGET", keys.slack_pause(thread_id, checkpoint_id), "status"))

    async def undo(self, pause: Pause, slot: str) -> None:
        await self._undo(keys=self._keys(pause.thread_id, pause.checkpoint_id), args=[slot])

    async def close(self, pause: Pause, status: str) -> None:
        commands: list[tuple[Any, ...]] = [("HSET", keys.slack_pause(pause.thread_id, pause.checkpoint_id), "status", status)]
        if pause.placement:
            member = f"{pause.thread_id} {pause.checkpoint_id}"
            commands.append(("ZREM", keys.slack_pending(pause.placement.channel), member))
        await self._steps.run(*commands)

    async def leave(self, thread_id: str) -> str | None:
        return _text(await self._redis.getdel(keys.slack_current(thread_id)))

    async def channels(self) -> list[str]:
        return sorted(_text(c) or "" for c in await self._redis.smembers(keys.SLACK_CHANNELS))

    async def pending(self, channel: str) -> list[tuple[str, str]]:
        members = await self._redis.zrange(keys.slack_pending(channel), 0, -1)
        out = []
        for raw in members:
            thread_id, checkpoint_id = _text(raw).split(" ", 1)  # type: ignore[union-attr]
            if (
                await self.current(thread_id) == checkpoint_id
                and await self.status(thread_id, checkpoint_id) == "pending"
            ):
                out.append((thread_id, checkpoint_id))
            else:
                await self._redis.zrem(keys.slack_pending(channel), raw)
        return out
