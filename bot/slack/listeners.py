"""slack-bolt listeners: each acks at once and hands the work to the background scheduler.

bolt answers Slack when a listener returns (`process_before_response`), so what a listener awaits
after `ack()` still comes before the answer. A decision (a button, a modal submitted) is checked and
recorded durably there (a few Redis round trips), so a click that got its 200 is never lost; its
message update and resume come after (`bot.slack.lanes`). A modal submission also validates before
its ack, because Slack shows field errors only from the ack.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot.slack import replies
from bot.slack.blocks import ACTION_PREFIX, parse_action_id
from bot.slack.commands import Commands
from bot.slack.decisions import Decisions, Later
from bot.slack.dedupe import EVENT_TTL_S, SIGNATURE_TTL_S
from bot.slack.deps import Deps
from bot.slack.outcome_blocks import OUTCOME_PREFIX, RETRY, parse_failure_ref
from bot.slack.outcomes import Outcomes
from bot.slack.pause import ButtonRef
from bot.slack.prompts import DECISIONS

log = logging.getLogger("sluice.slack")

ACTIONS = re.compile(rf"^{ACTION_PREFIX}\.({'|'.join(DECISIONS)})\.")
OUTCOME_ACTIONS = re.compile(rf"^{OUTCOME_PREFIX}\.(retry|details)$")
ACK_BUDGET_S = 1.5  # Slack's limit is 3 s
NOT_APPLIED = "Sluice could not apply this click: its storage did not answer. Click again in a moment"


async def _once(
    deps: Deps, kind: str, delivery_id: Any, ttl_s: int, work: Callable[[], Awaitable[Any]]
) -> None:
    """Does `work` unless this delivery was handled already, by any process (checked after the ack,
    so the check never delays it): Slack retries events, and a signed request can be replayed."""
    if delivery_id and not await deps.seen.first_time(kind, str(delivery_id), ttl_s):
        log.info("dropped a repeated Slack %s %s", kind, delivery_id)
        return
    await work()


async def _before_the_ack(
    deps: Deps, first: Coroutine[Any, Any, Later | None], channel: str, user: str
) -> None:
    """Runs `first` (a decision's checks and its durable recording) before the ack goes out, and
    spawns the rest it returns. Past ACK_BUDGET_S (storage slow or retrying) the ack goes without
    waiting more: `first` carries on, and a failure is still told to the clicker."""
    recording = asyncio.get_running_loop().create_task(first)
    await asyncio.wait({recording}, timeout=ACK_BUDGET_S)

    async def rest() -> None:
        later = await recording
        if later is not None:
            await later()

    deps.spawn(_told_if_failed(deps, rest(), channel, user))


async def _told_if_failed(deps: Deps, work: Coroutine[Any, Any, Any], channel: str, user: str) -> None:
    """A click that fails (storage unreachable past its retries) is answered, never dropped."""
    try:
        await work
    except Exception as exc:
        log.exception("a decision in %s by %s could not be applied", channel, user)
        await deps.calls.ephemeral(channel, user, f"{NOT_APPLIED} ({type(exc).__name__}).")


class Clicks:
    """A decision button's click, after its ack was decided on: bolt's listener calls it, and so does
    `bot.slack.transport.mount` directly for signed HTTP clicks once `authorized` (bolt's dispatch,
    its middleware chain, context and listener matching, cost about as much CPU as the rest of the
    ack; under a burst of clicks every ack and every message update waits behind that work).

    `authorized`: bolt ran this listener once, so its single-workspace authorization passed; it keeps
    that auth.test answer for the life of the process and never asks again, so skipping bolt from
    then on skips nothing that could still refuse a click.
    """

    def __init__(self, deps: Deps, decisions: Decisions) -> None:
        self.deps = deps
        self.decisions = decisions
        self.authorized = False

    async def __call__(self, body: dict[str, Any]) -> None:
        deps = self.deps
        action = body["actions"][0]
        parsed = parse_action_id(action.get("action_id", ""))
        ref = ButtonRef.decode(action.get("value") or "")
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        message_ts = (body.get("container") or {}).get("message_ts") or ""
        if parsed is None or ref is None or ref.slot != parsed[1]:
            deps.spawn(
                deps.calls.ephemeral(channel, user, "This button is not one of Sluice's any more. Nothing was changed.")
            )
            return
        # acked once the decision is recorded (the answer goes when this returns): never lost after a 200
        shown = (body.get("message") or {}).get("blocks")
        first = self.decisions.accept(user, channel, message_ts, ref, parsed[0], body.get("trigger_id", ""),
                                      shown if isinstance(shown, list) else None)
        await _before_the_ack(deps, first, channel, user)


def register(
    app: AsyncApp,
    deps: Deps,
    decisions: Decisions,
    commands: Commands,
    outcomes: Outcomes,
    command_name: str = "/sluice",
) -> Clicks:
    """Registers the listeners; returns the decision buttons' handler (for `transport.mount`)."""
    clicks = Clicks(deps, decisions)

    @app.action(OUTCOME_ACTIONS)
    async def on_outcome_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Retry or Details on a failure reply in a pause's thread."""
        await ack()
        action = body["actions"][0]
        ref = parse_failure_ref(action.get("value") or "")
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        if ref is None:
            deps.spawn(deps.calls.ephemeral(channel, user, "This button is not one of Sluice's. Nothing was changed."))
        elif action.get("action_id") == RETRY:
            deps.spawn(outcomes.retry(user, channel, *ref))
        else:
            deps.spawn(outcomes.details(user, channel, body.get("trigger_id", ""), *ref))

    @app.action(ACTIONS)
    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        clicks.authorized = True
        await clicks(body)

    @app.view(f"{ACTION_PREFIX}.modal")
    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        ref = ButtonRef.decode(view.get("private_metadata") or "")
        user = body["user"]["id"]
        if ref is None:
            await ack(response_action="errors", errors={"part.0": "This form is not one of Sluice's."})
            return
        errors, decision, pause = await decisions.validate_submission(
            user, ref, view.get("state", {}).get("values", {})
        )
        if errors or decision is None or pause is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        channel = pause.placement.channel if pause.placement else ""
        await _before_the_ack(deps, decisions.recorded(pause, ref.slot, decision, channel), channel, user)

    @app.command(command_name)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()

        async def slash() -> None:
            await commands.slash(command["user_id"], command["channel_id"], command.get("text") or "")

        # a replayed command repeats its trigger_id (unique to each real one)
        deps.spawn(_once(deps, "command", command.get("trigger_id"), SIGNATURE_TTL_S, slash))

    @app.event("app_mention")
    async def on_mention(ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()

        async def mention() -> None:
            thread_ts, text = event.get("thread_ts"), event.get("text") or ""
            if thread_ts and (await deps.store.by_message(event["channel"], thread_ts) or (
                    not commands.starts_something(text) and await replies.waiting_in(decisions, event["channel"], thread_ts))):
                return  # a reply to a pause that names the bot: the message listener answers it
            await commands.mention(event["user"], event["channel"], text, event["ts"], thread_ts)

        deps.spawn(_once(deps, "event", body.get("event_id"), EVENT_TTL_S, mention))

    @app.event("app_home_opened")
    async def on_home(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        if event.get("tab", "home") == "home" and event.get("user"):
            deps.spawn(commands.home(event["user"]))

    @app.event("message")
    async def on_message(ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if event.get("subtype") or event.get("bot_id") or not event.get("thread_ts") or not event.get("user"):
            return
        text = replies.addressed(event.get("text") or "", context.bot_user_id)  # "@sluice {...}" answers {...}

        async def reply() -> None:
            await replies.reply(decisions, event["user"], event["channel"], event["thread_ts"], text)

        deps.spawn(_once(deps, "event", body.get("event_id"), EVENT_TTL_S, reply))

    return clicks
