"""Block Kit as Slack checks it: what `chat.postMessage`, `chat.update` and `views.*` would refuse.

`block_errors` and `view_errors` return Slack's messages (with their `json-pointer`) for blocks
and views that break its limits; an empty list means Slack would accept them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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

    def text_obj(obj: Any, limit: int, ptr: str, plain: bool = False) -> None:
        if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
            errors.append(f"must be a text object [json-pointer:{ptr}]")
            return
        if plain and obj.get("type") != "plain_text":
            errors.append(f"must be plain_text [json-pointer:{ptr}/type]")
        if len(obj["text"]) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:{ptr}/text]")
        if obj["type"] not in ("plain_text", "mrkdwn"):
            errors.append(f"unknown text type [json-pointer:{ptr}/type]")

    def element(el: Any, ptr: str) -> None:
        if not isinstance(el, Mapping):
            errors.append(f"must be an object [json-pointer:{ptr}]")
            return
        if len(str(el.get("action_id", ""))) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{ptr}/action_id]")
        if el.get("type") == "button":
            text_obj(el.get("text"), 75, ptr + "/text", plain=True)
            if len(str(el.get("value", ""))) > 2000:
                errors.append(f"must be less than 2001 characters [json-pointer:{ptr}/value]")
        elif el.get("type") == "plain_text_input":
            max_length = el.get("max_length", 3000)
            if not isinstance(max_length, int) or max_length > 3000:
                errors.append(f"must be at most 3000 [json-pointer:{ptr}/max_length]")
            elif len(str(el.get("initial_value", ""))) > max_length:
                errors.append(f"must be less than {max_length + 1} characters [json-pointer:{ptr}/initial_value]")

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
                element(block["accessory"], ptr + "/accessory")
        elif kind == "header":
            text_obj(block.get("text"), 150, ptr + "/text", plain=True)
        elif kind == "actions":
            els = block.get("elements") or []
            if not els or len(els) > 25:
                errors.append(f"must provide 1 to 25 items [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                element(el, f"{ptr}/elements/{j}")
        elif kind == "context":
            els = block.get("elements") or []
            if not els or len(els) > 10:
                errors.append(f"must provide 1 to 10 items [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                if isinstance(el, Mapping) and el.get("type") in ("mrkdwn", "plain_text"):
                    text_obj(el, 3000, f"{ptr}/elements/{j}")
        elif kind == "input":
            text_obj(block.get("label"), 2000, ptr + "/label", plain=True)
            element(block.get("element"), ptr + "/element")
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
