"""Block Kit for pauses, decisions and modals (pure functions of their inputs).

Every limit of `bot.slack.limits` is enforced here, visibly: a long value is cut with
"…(truncated)" in a message and shown whole in its modal where it fits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack import forms, limits
from bot.slack.kit import (
    ACTION_PREFIX,
    PAGE_BREAK,
    Block,
    code,
    context,
    escape,
    fit,
    modal,
    quote,
    section,
    to_json,
)
from bot.slack.pause import ButtonRef, Pause
from bot.slack.prompts import (
    LABELS,
    BreakpointPrompt,
    Decision,
    FormPrompt,
    Prompt,
    SlotDecision,
    TextPrompt,
    ToolPrompt,
    ValuePrompt,
)

TIMER = "timer"  # the actor of a deadline's decisions (bot.slack.lifecycle.policy.TIMER)
PART_BLOCK = re.compile(r"^part\.[0-9]+$")  # the inputs of a decision modal, in order
VERBS: dict[str, str] = {
    "approve": "Approved",
    "edit": "Edited",
    "reject": "Rejected",
    "respond": "Responded",
    "continue": "Continued",
    "answer": "Answered",
}
ICONS: dict[str, str] = {"approve": "✅", "edit": "✏️", "reject": "⛔", "respond": "💬", "continue": "▶️", "answer": "📝"}


def button(decision: Decision, ref: ButtonRef) -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": limits.clip(LABELS[decision], limits.BUTTON_TEXT)},
        "action_id": action_id(decision, ref.slot),
        "value": ref.encode()[: limits.BUTTON_VALUE],
    }
    if decision in ("approve", "continue"):
        b["style"] = "primary"
    elif decision == "reject":
        b["style"] = "danger"
    return b


def action_id(decision: str, slot: str) -> str:
    return f"{ACTION_PREFIX}.{decision}.{slot}"


def parse_action_id(value: str) -> tuple[str, str] | None:
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != ACTION_PREFIX:
        return None
    return parts[1], f"{parts[2]}.{parts[3]}"


def when(ts: float) -> str:
    """A Slack date token: shown in each reader's own time zone."""
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{int(ts)}>"


# --- a pause ----------------------------------------------------------------------------------


def pause_text(pause: Pause) -> str:
    """The notification text (also what clients without Block Kit show)."""
    if pause.breakpoint is not None and not pause.interrupts:
        when, nodes = pause.breakpoint
        waits = f"paused {when} {', '.join(nodes)}: Continue?"
    else:
        waits = "is waiting for a decision"
    return limits.clip(f"{escape(pause.assistant_id)} {escape(waits)}", limits.MESSAGE_TEXT)


def decided_text(pause: Pause, what: str = "decided") -> str:
    """The notification text of a pause no longer waiting (decided, timed out, expired, gone): what
    screen readers and notifications show once its buttons are gone; it must not say it is waiting."""
    return limits.clip(f"{escape(pause.assistant_id)}: {what}", limits.MESSAGE_TEXT)


def pause_blocks(
    pause: Pause,
    decided: Mapping[str, SlotDecision] | None = None,
    closed: str | None = None,
    headline: str | None = None,
    group: int = 0,
    notes: Sequence[str] = (),
) -> list[Block]:
    """The message of one group of a pause (see `Pause.groups`; most pauses have one): its prompts,
    their buttons for undecided slots, who decided the others. A group needing more decisions than
    one message holds takes several (`Pause.pages`): their bodies joined by `PAGE_BREAK`, each within
    Slack's limits (`kit.page` picks one).

    `closed` replaces all remaining buttons with a note (the pause was decided or went stale), and the
    first line's "is waiting for you" with "is no longer waiting"; `headline` replaces that line (what
    happened: decided, failed, finished...);
    `notes` (e.g. who approved so far) go under the prompts.
    """
    pages = pause.pages(group) if pause.groups else [()]
    out: list[Block] = []
    for k, slots in enumerate(pages):
        part = f"Message {k + 1} of {len(pages)}: decide each call in its message" if len(pages) > 1 else None
        rendered = _pause_blocks(pause, group, set(slots), decided or {}, closed, headline, notes, part, compact=False)
        if len(rendered) > limits.MESSAGE_BLOCKS:  # many tool calls: name and arguments in one section each
            rendered = _pause_blocks(pause, group, set(slots), decided or {}, closed, headline, notes, part, compact=True)
        out += ([PAGE_BREAK] if k else []) + fit(rendered, limits.MESSAGE_BLOCKS)
    return out


def _pause_blocks(
    pause: Pause,
    group: int,
    slots: set[str],
    decided: Mapping[str, SlotDecision],
    closed: str | None,
    headline: str | None,
    notes: Sequence[str],
    part: str | None,
    compact: bool,
) -> list[Block]:
    prompts = pause.prompts
    # a closed pause's first line never says it waits, whoever closed it without a headline of their own
    waiting = "is no longer waiting" if closed else "is waiting for you"
    blocks: list[Block] = [section(headline or f"*{escape(pause.assistant_id)}* {waiting}")]
    if part:
        blocks.append(context(part))
    for p in pause.groups[group] if pause.groups else ():
        if not any(f"{p}.{s}" in slots for s in range(prompts[p].slots)):
            continue  # shown in another message of the group
        if len(prompts) > 1:
            blocks.append(context(f"Interrupt {p + 1} of {len(prompts)}"))
        blocks += _prompt_blocks(pause, p, prompts[p], decided, closed is not None, compact, slots)
    blocks += [context(note) for note in _governance_notes(pause, closed is not None, notes)]
    if closed:
        blocks.append(context(closed))
    blocks.append(context(f"thread `{escape(pause.thread_id)}` · checkpoint `{escape(pause.at)}`"))
    return blocks


def _governance_notes(pause: Pause, closed: bool, notes: Sequence[str]) -> list[str]:
    """Deadline, escalation and approvals so far (bot.slack.lifecycle), while they matter."""
    out = list(notes)
    if pause.escalated is not None:
        out.append(f"⤴️ Escalated to <#{escape(pause.escalated.channel)}>")
    if pause.deadline_at and not closed:
        out.append(f"⏰ Decide by {when(pause.deadline_at)}")
    return out


def _prompt_blocks(
    pause: Pause, p: int, prompt: Prompt, decided: Mapping[str, SlotDecision], closed: bool, compact: bool,
    slots: set[str],
) -> list[Block]:
    out: list[Block] = []
    if isinstance(prompt, TextPrompt):
        out.append(section("*Text to revise*"))
        out.append(quote(prompt.text))
    elif isinstance(prompt, ValuePrompt):
        out.append(section("*The graph asks:*"))
        out.append(code(to_json(prompt.value)))
    elif isinstance(prompt, FormPrompt):
        out += forms.question_blocks(prompt)
    elif isinstance(prompt, BreakpointPrompt):
        nodes = ", ".join(f"`{escape(n)}`" for n in prompt.nodes) or "the next step"
        out.append(section(f"*Paused {prompt.when} {nodes}*"))
        if pause.summary:
            out.append(context("State"))
            out.append(code(pause.summary))
    elif isinstance(prompt, ToolPrompt):
        n = len(prompt.actions)
        for s, action in enumerate(prompt.actions):
            if f"{p}.{s}" not in slots:
                continue  # shown in another message of the group
            head = (
                f"*Tool call {s + 1} of {n}: `{escape(action.name)}`*"
                if n > 1
                else f"*Tool call: `{escape(action.name)}`*"
            )
            if action.description:
                head += "\n" + escape(action.description)
            if compact:
                head = limits.clip(head, 1000)
                out.append(
                    section(
                        head + "\n" + code(to_json(action.args), limits.SECTION_TEXT - len(head) - 1)["text"]["text"]
                    )
                )
            else:
                out.append(section(head))
                out.append(code(to_json(action.args), limits.SECTION_TEXT))
            out += _slot_footer(pause, p, s, prompt, decided, closed)
        return out
    out += _slot_footer(pause, p, 0, prompt, decided, closed)
    return out


def _slot_footer(
    pause: Pause, p: int, s: int, prompt: Prompt, decided: Mapping[str, SlotDecision], closed: bool
) -> list[Block]:
    slot = f"{p}.{s}"
    d = decided.get(slot)
    if d is not None:
        return decision_blocks(d, schema=_answer_schema(prompt, s))
    if closed:
        return []
    ref = ButtonRef(pause.thread_id, pause.checkpoint_id, pause.interrupt_id(p), slot)
    return [
        {
            "type": "actions",
            "block_id": f"{ACTION_PREFIX}.{slot}",
            "elements": [button(d_, ref) for d_ in prompt.allowed(s)],
        }
    ]


def _answer_schema(prompt: Prompt, slot: int) -> Mapping[str, Any] | None:
    """The schema a slot's answer follows, to show it field by field (a form's, a typed edit's)."""
    if isinstance(prompt, FormPrompt):
        return prompt.schema
    if isinstance(prompt, ToolPrompt):
        return prompt.actions[slot].args_schema
    return None


def decision_blocks(d: SlotDecision, at: float | None = None, schema: Mapping[str, Any] | None = None) -> list[Block]:
    """Who decided what (and when, once known); an edit, reason, reply or answer is shown after it."""
    stamp = f", {when(at)}" if at else ""
    people = ", ".join(f"<@{u}>" for u in d.user.split(","))  # N-of-M: every approver, in order
    by = "automatically: the deadline passed" if d.user == TIMER else f"by {people}"
    out = [context(f"{ICONS.get(d.decision, '')} *{VERBS.get(d.decision, d.decision)}* {by}{stamp}")]
    if d.decision == "answer" or (d.decision == "edit" and schema is not None):
        out += forms.answered_blocks(schema, d.value)
    elif d.decision == "edit":
        value = d.value if isinstance(d.value, str) else to_json(d.value)
        out.append(code(value) if not isinstance(d.value, str) else quote(value))
    elif d.decision in ("reject", "respond") and d.value not in (None, ""):
        out.append(quote(d.value if isinstance(d.value, str) else to_json(d.value)))
    return out


THREAD_GONE = "No longer pending: its thread (or its assistant) no longer exists."


def gone_blocks(pause: Pause, decided: Mapping[str, SlotDecision] | None = None, group: int = 0) -> list[Block]:
    """A group's message once its thread is gone (deleted, expired): no buttons, saying so."""
    headline = f"*{escape(pause.assistant_id)}*: its thread no longer exists"
    return pause_blocks(pause, decided or {}, closed=THREAD_GONE, group=group, headline=headline)


def unknown_pause_blocks(shown: list[Block], note: str) -> list[Block] | None:
    """A posted pause's message (its blocks as Slack sent them back) without its buttons, its first
    line no longer saying it waits, and `note` at the end; None when it has no buttons to remove."""
    kept = [b for b in shown if isinstance(b, dict) and b.get("type") != "actions"]
    if len(kept) == len(shown):
        return None
    first = kept[0] if kept else None
    text = (first or {}).get("text") or {}
    if first is not None and first.get("type") == "section" and str(text.get("text", "")).endswith(" is waiting for you"):
        kept[0] = section(str(text["text"]).removesuffix(" is waiting for you") + " is no longer waiting")
    return fit([*kept, context(note)], limits.MESSAGE_BLOCKS)


def decided_blocks(
    pause: Pause, decided: Mapping[str, SlotDecision], at: float, headline: str | None = None, group: int = 0
) -> list[Block]:
    """A group's message (see `Pause.groups`) once it is resumed: buttons gone, every decision with
    who and when."""
    mine = set(pause.group_slots(group))
    users = sorted({u for slot, d in decided.items() if d.user and slot in mine for u in d.user.split(",")})
    goes_on = "" if headline else "; the graph goes on"
    if TIMER in users:
        closed = f"⏱ Timed out {when(at)}: nobody decided in time{goes_on}."
        headline = headline or f"*{escape(pause.assistant_id)}*: timed out"
        return pause_blocks(pause, decided, closed=closed, headline=headline, group=group)
    headline = headline or f"*{escape(pause.assistant_id)}*: decided"
    who = ", ".join(f"<@{u}>" for u in users) or "someone"
    closed = f"Decided by {who}{f', {when(at)}' if at else ''}{goes_on}."  # at 0: when is not known here
    return pause_blocks(pause, decided, closed=closed, headline=headline, group=group)


# --- other messages ---------------------------------------------------------------------------


def notice_blocks(title: str, body: str | None = None, as_code: bool = False) -> list[Block]:
    blocks = [section(title)]
    if body:
        blocks.append(code(body) if as_code else quote(body))
    return blocks


def final_answer(values: Any) -> tuple[str, bool]:
    """What a finished run answered: the last message's content when there are messages, else the values."""
    if isinstance(values, Mapping):
        messages = values.get("messages")
        if isinstance(messages, Sequence) and messages and not isinstance(messages, str):
            last = messages[-1]
            content = last.get("content") if isinstance(last, Mapping) else getattr(last, "content", last)
            if isinstance(content, str):
                return content, False
        if len(values) == 1:
            (only,) = values.values()
            if isinstance(only, str):
                return only, False
    return to_json(values), True


# --- modals -----------------------------------------------------------------------------------

MAX_PARTS = 20  # a longer edit is shown read-only (a modal holds 100 blocks and 250 KB)


def text_inputs(label: str, initial: str, multiline: bool = True, optional: bool = False) -> list[Block]:
    """One input, or several ("part i of n") when `initial` is longer than an input holds."""
    parts = limits.chunks(initial, limits.INPUT_MAX)
    blocks = []
    for i, part in enumerate(parts):
        element: Block = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": multiline,
            "max_length": limits.INPUT_MAX,
        }
        if part:
            element["initial_value"] = part
        name = label if len(parts) == 1 else f"{label} (part {i + 1} of {len(parts)})"
        blocks.append(
            {
                "type": "input",
                "block_id": f"part.{i}",
                "label": {"type": "plain_text", "text": limits.clip(name, limits.INPUT_LABEL)},
                "element": element,
                "optional": optional,
            }
        )
    return blocks


def decision_modal(pause: Pause, ref: ButtonRef) -> Block:
    """The modal behind Edit, Reject and Respond (ids in private_metadata, values fetched here)."""
    prompt = pause.prompts[ref.prompt_index]
    decision = ref.decision
    if decision == "answer" and isinstance(prompt, FormPrompt):
        return forms.answer_modal(ref, prompt)
    if decision == "edit" and isinstance(prompt, ToolPrompt):
        form = forms.edit_form(prompt.actions[ref.slot_index])
        if form is not None:
            return forms.edit_modal(ref, prompt.actions[ref.slot_index], form)
    if decision == "edit" and isinstance(prompt, TextPrompt):
        return _edit_modal(ref, "Edit the text", prompt.text, "Text")
    if decision == "edit" and isinstance(prompt, ToolPrompt):
        action = prompt.actions[ref.slot_index]
        label = f"Arguments of {action.name} (JSON)"  # the page shows a field so labelled in monospace
        return _edit_modal(ref, f"Edit {action.name}", to_json(action.args), label)
    if decision == "reject":
        name = prompt.actions[ref.slot_index].name if isinstance(prompt, ToolPrompt) else "this"
        inputs = text_inputs("Reason", "", optional=True)
        return modal(
            ref, f"Reject {name}", f"Why reject `{escape(name)}`? The reason goes back to the agent.", inputs, "Reject"
        )
    intro = None
    if isinstance(prompt, ValuePrompt):
        intro = "Your reply is the graph's answer: valid JSON is sent as JSON, anything else as text."
    return modal(ref, "Respond", intro, text_inputs("Reply", ""), "Send")


def _edit_modal(ref: ButtonRef, title: str, initial: str, label: str) -> Block:
    parts = limits.chunks(initial, limits.INPUT_MAX)
    if len(parts) > MAX_PARTS:
        note = (
            f"This value is {len(initial):,} characters long: too long to edit in Slack. "
            "Approve it as it is, or change it through the API (`POST /threads/{id}/runs` with a resume command)."
        )
        return modal(ref, title, note, [code(initial[:2800])], None)
    intro = None
    if len(parts) > 1:
        intro = (
            f"It is {len(initial):,} characters long, so it is split into {len(parts)} parts joined in order on submit."
        )
    return modal(ref, title, intro, text_inputs(label, initial), "Save")


def read_parts(state_values: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """Joins the parts of a submitted modal in order; errors for parts longer than an input allows."""
    parts: list[tuple[int, str]] = []
    errors: dict[str, str] = {}
    for block_id, actions in state_values.items():
        if not PART_BLOCK.match(block_id) or not isinstance(actions, Mapping):
            continue
        value = (actions.get("value") or {}).get("value") or ""
        if len(value) > limits.INPUT_MAX:
            errors[block_id] = f"At most {limits.INPUT_MAX:,} characters ({len(value):,} given)."
        parts.append((int(block_id.split(".")[1]), value))
    return "".join(v for _, v in sorted(parts)), errors
