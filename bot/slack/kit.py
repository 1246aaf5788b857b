"""Block Kit primitives every Slack view is made of: escaped mrkdwn, sections clipped visibly, modals."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import limits
from bot.slack.pause import ButtonRef

Block = dict[str, Any]
ACTION_PREFIX = "sluice"


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped; nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_json(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def section(text: str, limit: int = limits.SECTION_TEXT) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": limits.clip(text, limit)}}


def code(text: str, limit: int = limits.SECTION_TEXT) -> Block:
    """A code block whose content is clipped so that the fences always survive."""
    body = escape(text).replace("```", "`\u200b``")
    return section("```" + limits.clip(body, limit - 6) + "```", limit)


def quote(text: str, limit: int = limits.SECTION_TEXT) -> Block:
    body = limits.clip(escape(text), limit - 200)
    return section("\n".join("> " + line for line in body.split("\n")) if body else "> _(empty)_", limit)


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": limits.clip(text, limits.SECTION_FIELD)}]}


# Between the messages of a body that takes several (`Pause.pages`); never sent: `page` splits on it.
PAGE_BREAK: Block = {"type": "sluice.page_break"}


def page(body: list[Block], index: int) -> list[Block]:
    """The blocks of message `index` of a body split over several messages (a body without breaks is
    one message, whatever the index)."""
    pages: list[list[Block]] = [[]]
    for block in body:
        if block is PAGE_BREAK or block == PAGE_BREAK:
            pages.append([])
        else:
            pages[-1].append(block)
    return pages[index] if 0 <= index < len(pages) else pages[0]


def fit(blocks: list[Block], max_blocks: int) -> list[Block]:
    """At most `max_blocks` blocks; when cut, the last one says how many were left out."""
    if len(blocks) <= max_blocks:
        return blocks
    kept = blocks[: max_blocks - 1]
    kept.append(context(f"{limits.TRUNCATED} {len(blocks) - len(kept)} more blocks not shown"))
    return kept


def modal_title(text: str) -> Block:
    return {"type": "plain_text", "text": limits.clip(text, limits.MODAL_TITLE, "…")}


def modal(ref: ButtonRef, title: str, intro: str | None, inputs: list[Block], submit: str | None) -> Block:
    blocks: list[Block] = []
    if intro:
        blocks.append(section(intro))
    blocks += inputs
    view: Block = {
        "type": "modal",
        "callback_id": f"{ACTION_PREFIX}.modal",
        "title": modal_title(title),
        "close": modal_title("Cancel"),
        "private_metadata": ref.encode()[: limits.PRIVATE_METADATA],
        "blocks": fit(blocks, limits.MODAL_BLOCKS),
    }
    if submit:
        view["submit"] = modal_title(submit)
    return view
