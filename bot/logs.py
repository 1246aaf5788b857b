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
from urllib.parse import urlsplit

from bot.slack.redaction import MIN_SECRET, scrub, secret_values

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
URL_VARIABLES = ("REDIS_URL",)  # URLs whose password is a secret though the variable's name does not say so


def secrets_of(environ: Mapping[str, str]) -> list[str]:
    """Every secret value of the environment, longest first."""
    found = set(secret_values(environ))
    for name in URL_VARIABLES:
        try:
            password = urlsplit(environ.get(name, "")).password
        except ValueError:
            password = None
        if password and len(password) >= MIN_SECRET:
            found.add(password)
    return sorted(found, key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self.secrets)


def configure(level: int = logging.INFO, environ: Mapping[str, str] | None = None) -> None:
    """Logs to stderr through a redacting formatter (what `logging.basicConfig` would set up otherwise)."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets_of(os.environ if environ is None else environ)))
    logging.basicConfig(level=level, handlers=[handler])


def redacted(text: str) -> str:
    """`text` fit for the terminal (a start-up error printed rather than logged)."""
    return scrub(text, secrets_of(os.environ))
