"""Block Kit for what happened after a decision: the replies in the pause's thread, the pause
message's new headline, and the error details modal (pure functions of their inputs)."""

from __future__ import annotations

import re
from typing import Any

from bot.slack import limits
from bot.slack.blocks import final_answer, when
from bot.slack.failures import Failure
from bot.slack.kit import Block, code, context, escape, modal_title, section

OUTCOME_PREFIX = "sluice_outcome"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
RETRY = f"{OUTCOME_PREFIX}.retry"
DETAILS = f"{OUTCOME_PREFIX}.details"
MESSAGE_SHOWN = 1500  # of an error message, in the thread (the modal shows the traceback)
ANSWER_SHOWN = 1500
TRACEBACK_SHOWN = 8000  # of a traceback, in the Details modal: its end
CODE_PIECE = 2000  # escaping (&lt; ...) may grow a piece; a section holds 3,000


def failure_ref(failure: Failure) -> str:
    return f"{failure.thread_id}|{failure.run_id}"


def parse_failure_ref(value: str) -> tuple[str, str] | None:
    parts = value.split("|")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def _where(failure: Failure) -> str:
    return f" in `{escape(failure.node)}`" if failure.node else ""


def _failed(failure: Failure) -> str:
    if failure.outside_graph:
        return f"*{escape(failure.assistant_id)}* could not run (no node failed): `{escape(failure.error_type)}`"
    return f"*{escape(failure.assistant_id)}* failed{_where(failure)}: `{escape(failure.error_type)}`"


def failure_blocks(failure: Failure, retried_by: str | None = None, at: float | None = None,
                   note: str | None = None) -> list[Block]:
    """The reply naming the node, the error type and message, with Retry (until used) and Details."""
    blocks = [section(f"⚠️ {_failed(failure)}")]
    if failure.message:
        blocks.append(code(limits.clip(failure.message, MESSAGE_SHOWN)))
    buttons: list[Block] = []
    if retried_by is None and note is None:
        buttons.append(_button("Retry", RETRY, failure, primary=True))
    buttons.append(_button("Details", DETAILS, failure))
    blocks.append({"type": "actions", "block_id": f"{OUTCOME_PREFIX}.{failure.run_id}"[: limits.ID_LENGTH],
                   "elements": buttons})
    if retried_by is not None:
        stamp = f", {when(at)}" if at else ""
        blocks.append(context(f"🔁 Retried by <@{retried_by}>{stamp}: the thread continues from its last checkpoint."))
    elif note:
        blocks.append(context(note))
    else:
        blocks.append(context("*Retry* (approvers) runs the failed step again from the thread's last checkpoint."))
    return blocks


def _button(label: str, action_id: str, failure: Failure, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": failure_ref(failure)[: limits.BUTTON_VALUE],
    }
    if primary:
        button["style"] = "primary"
    return button


def failure_text(failure: Failure) -> str:
    """The reply's notification text: Slack parses it too, so an error that says `<!channel>` must not ping."""
    what = "could not run" if failure.outside_graph else "failed"
    text = f"{failure.assistant_id} {what}: {failure.error_type}: {failure.message}"
    return limits.clip(escape(text), limits.MESSAGE_TEXT)


def details_modal(failure: Failure) -> Block:
    """The traceback's end (where the error is), in as many code blocks as it takes."""
    text = failure.traceback or failure.message or "(no traceback)"
    if len(text) > TRACEBACK_SHOWN:
        text = "…" + text[-TRACEBACK_SHOWN:]
    pieces = _line_pieces(text, CODE_PIECE)
    blocks = [
        section(_failed(failure)),
        *(code(piece) for piece in pieces),
        context(f"thread `{failure.thread_id}` · run `{failure.run_id}` · checkpoint `{failure.checkpoint_id}`"),
    ]
    return {"type": "modal", "callback_id": DETAILS, "title": modal_title("Error details"),
            "close": modal_title("Close"), "blocks": blocks}


def _line_pieces(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` chars, cut between lines where a line fits."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        for part in limits.chunks(line, size):
            if current and len(current) + len(part) > size:
                pieces.append(current)
                current = ""
            current += part
    return [*pieces, current] if current else pieces or [""]


def finished_blocks(assistant_id: str, values: Any, with_answer: bool) -> list[Block]:
    blocks = [section(f"✅ *{escape(assistant_id)}* finished.")]
    if with_answer:
        answer, as_code = final_answer(values)
        if answer:
            clipped = limits.clip(answer, ANSWER_SHOWN)
            blocks.append(code(clipped) if as_code else section(escape(clipped)))
    return blocks


def paused_again_blocks(assistant_id: str, link: str | None, unposted_in: str | None = None) -> list[Block]:
    """`unposted_in`: the channel whose Slack refused the next pause's message (it stays pending there)."""
    if unposted_in is not None:  # a channel's id is a link; a configured name is shown as it is
        channel = f"<#{unposted_in}>" if CHANNEL_ID.match(unposted_in) else escape("#" + unposted_in.lstrip("#"))
        return [section(f"⏸️ *{escape(assistant_id)}* is waiting for the next decision, but Slack did not take its "
                        f"message: `/sluice pending` in {channel} posts it again.")]
    where = f"<{link}|the next decision>" if link else "the next decision (posted in the channel)"
    return [section(f"⏸️ *{escape(assistant_id)}* is waiting for {where}.")]


def cancelled_blocks(assistant_id: str, reason: str, applied: bool) -> list[Block]:
    """The reply for a run a decision started that was cancelled before it ended."""
    state = ("the thread stays at its last checkpoint" if applied
             else "the decision was not applied: the thread still waits at this pause (answer it over the API)")
    return [section(f"⏹️ *{escape(assistant_id)}* was cancelled ({escape(limits.clip(reason, 300))}); {state}.")]


def headline(assistant_id: str, kind: str, *, node: str = "", error_type: str = "", reason: str = "",
             outside_graph: bool = False, by_deadline: bool = False) -> str:
    """The pause message's first line once the run its decision started has ended; `by_deadline`: the
    deadline decided it (it says so, never in words that read as a person's choice)."""
    name = f"*{escape(assistant_id)}*"
    decided = "timed out" if by_deadline else "decided"
    if kind == "cancelled":
        return f"⏹️ {name}: {decided}, then the run was cancelled ({escape(limits.clip(reason, 200))}); see the thread"
    if kind == "failed" and outside_graph:
        why = f"`{escape(error_type)}`: {escape(limits.clip(reason, 200))}" if reason else f"`{escape(error_type)}`"
        return f"⚠️ {name}: {decided}, but the run could not be carried out ({why}); see the thread"
    if kind == "failed":
        where = f" in `{escape(node)}`" if node else ""
        return f"⚠️ {name}: {decided}, then the run failed{where} (`{escape(error_type)}`); see the thread"
    if kind == "finished":
        return f"{'⏱' if by_deadline else '✅'} {name}: {decided}; the run finished"
    if kind == "waiting_for_others":
        return f"⏸️ {name}: {decided}; the run goes on once the other pauses of this step are answered"
    return f"⏸️ {name}: {decided}; the run is waiting for another decision (linked in the thread)"
