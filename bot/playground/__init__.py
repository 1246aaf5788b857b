"""The playground: the whole flow in a browser, no Slack workspace needed.

`run(settings)` starts, in one process, the engine, the HTTP API, the Slack bot, a local Slack
(`workspace`, `web_api`, `block_kit`, `slack_user`) and a page at `/` that shows its channel
like Slack does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


def run(settings: Settings) -> None:
    """Serves until interrupted (Ctrl-C or SIGTERM)."""
    from bot.playground.server import serve

    asyncio.run(serve(settings))
