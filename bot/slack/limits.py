"""Block Kit limits (Slack's documented caps) and the one way we shorten text: visibly."""

from __future__ import annotations

SECTION_TEXT = 3000
SECTION_FIELD = 2000
HEADER_TEXT = 150
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ID_LENGTH = 255  # block_id, action_id, callback_id
PRIVATE_METADATA = 3000
MODAL_TITLE = 24  # also submit and close
INPUT_MAX = 3000  # plain_text_input max_length and initial_value
INPUT_LABEL = 2000
CONTEXT_ELEMENTS = 10
MESSAGE_TEXT = 3900  # chat.postMessage `text`: keep under 4,000
VIEW_BYTES = 250_000

TRUNCATED = "…(truncated)"


def clip(text: str, limit: int, marker: str = TRUNCATED) -> str:
    """`text` if it fits, else its head followed by a visible marker, `limit` chars in all."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def chunks(text: str, size: int) -> list[str]:
    """Splits `text` into pieces of at most `size` chars (at least one piece)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
