"""Block Kit as Slack checks it: what `chat.postMessage`, `chat.update` and `views.*` would refuse.

`block_errors` and `view_errors` return Slack's messages (with their `json-pointer`) for blocks
and views that break its limits; an empty list means Slack would accept them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.playground.block_elements import ElementChecker

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, where: str = "blocks") -> list[str]:
    """What Slack would say is wrong with `blocks` (empty when they are valid)."""
    if not isinstance(blocks, list):
        return [f"{where} must be an array"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"must provide at most {max_blocks} items [json-pointer:/{where}]")
    seen: set[str] = set()

    check = ElementChecker(errors)
    text_obj = check.text

    for i, block in enumerate(blocks):
        ptr = f"/{where}/{i}"
        if not isinstance(block, Mapping) or "type" not in block:
            errors.append(f"must be a block object [json-pointer:{ptr}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{ptr}/block_id]")
            if block_id in seen:
                errors.append(f"duplicate block_id [json-pointer:{ptr}/block_id]")
            seen.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" in block:
                text_obj(block["text"], 3000, ptr + "/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                errors.append(f"must provide at most 10 items [json-pointer:{ptr}/fields]")
            for j, f in enumerate(fields):
                text_obj(f, 2000, f"{ptr}/fields/{j}")
            if "text" not in block and not fields:
                errors.append(f"must provide text or fields [json-pointer:{ptr}]")
            if "accessory" in block:
                check.check(block["accessory"], ptr + "/accessory", "accessory")
        elif kind == "header":
            text_obj(block.get("text"), 150, ptr + "/text", plain=True)
        elif kind == "actions":
            els = block.get("elements") or []
            if not els or len(els) > 25:
                errors.append(f"must provide 1 to 25 items [json-pointer:{ptr}/elements]")
            action_ids = [el.get("action_id") for el in els if isinstance(el, Mapping) and "action_id" in el]
            if len(set(action_ids)) != len(action_ids):
                errors.append(f"action_id must be unique within the block [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                check.check(el, f"{ptr}/elements/{j}", "actions")
        elif kind == "context":
            els = block.get("elements") or []
            if not els or len(els) > 10:
                errors.append(f"must provide 1 to 10 items [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                if isinstance(el, Mapping) and el.get("type") in ("mrkdwn", "plain_text"):
                    text_obj(el, 3000, f"{ptr}/elements/{j}")
        elif kind == "input":
            text_obj(block.get("label"), 2000, ptr + "/label", plain=True)
            if "hint" in block:
                text_obj(block["hint"], 2000, ptr + "/hint", plain=True)
            for flag in ("optional", "dispatch_action"):
                if flag in block and not isinstance(block[flag], bool):
                    errors.append(f"must be a boolean [json-pointer:{ptr}/{flag}]")
            if "element" not in block:
                errors.append(f"element is required [json-pointer:{ptr}/element]")
            else:
                check.check(block["element"], ptr + "/element", "input")
        elif kind == "markdown":
            if len(str(block.get("text", ""))) > 12000:
                errors.append(f"must be less than 12001 characters [json-pointer:{ptr}/text]")
        elif kind not in ("divider", "image", "rich_text", "file", "video"):
            errors.append(f"unsupported type `{kind}` [json-pointer:{ptr}/type]")
    return errors


def view_errors(view: Any) -> list[str]:
    if not isinstance(view, Mapping):
        return ["view must be an object"]
    errors: list[str] = []
    if view.get("type") not in ("modal", "home"):
        errors.append("must be modal or home [json-pointer:/view/type]")
    for key in ("title", "submit", "close"):
        obj = view.get(key)
        if obj is None:
            if key == "title" and view.get("type") == "modal":
                errors.append("title is required [json-pointer:/view/title]")
            continue
        if not isinstance(obj, Mapping) or obj.get("type") != "plain_text" or len(str(obj.get("text", ""))) > 24:
            errors.append(f"must be plain_text of at most 24 characters [json-pointer:/view/{key}]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    errors += [
        e.replace("/blocks", "/view/blocks") for e in block_errors(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
    ]
    if any(b.get("type") == "input" for b in view.get("blocks", []) if isinstance(b, Mapping)) and "submit" not in view:
        errors.append("a view with inputs needs submit [json-pointer:/view/submit]")
    if len(json.dumps(view)) > 250_000:
        errors.append("view is larger than 250 KB")
    return errors
