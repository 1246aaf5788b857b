"""The service's log output, with secrets taken out of every line.

Log lines quote exception messages and tracebacks: ours, bolt's, aiohttp's and those of the graphs
a run executes, which may carry a connection URL or a token (an HTTP client's error, a Redis URL).
Every record is formatted and then scrubbed (`bot.slack.redaction`): the values of the environment
variables named like secrets (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLUICE_API_KEY,
...), the password of REDIS_URL, any password in a URL and any Slack token become `[redacted]`.
The secrets are read once, at start-up (the environment does not change while serving).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from bot.slack.redaction import scrub, secret_values

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self.secrets)


def configure(level: int = logging.INFO, environ: Mapping[str, str] | None = None) -> None:
    """Logs to stderr through a redacting formatter (what `logging.basicConfig` would set up otherwise)."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secret_values(os.environ if environ is None else environ)))
    logging.basicConfig(level=level, handlers=[handler])


def redacted(text: str) -> str:
    """`text` fit for the terminal (a start-up error printed rather than logged)."""
    return scrub(text, secret_values(os.environ))
