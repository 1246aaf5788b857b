"""Secrets taken out of an error before Slack shows it to everyone who can see the channel.

A failure's reply and its Details show the error message and the traceback's end: code lines and
messages, never local variables. A message can still carry a secret (a library that puts its
connection URL or token in an exception), so what the bot posts has these replaced by `[redacted]`:
the values of this process's environment variables whose names say they are secret, the password
of REDIS_URL, passwords in URLs, and Slack tokens.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|AUTH", re.I)
MIN_SECRET = 6  # shorter values (e.g. "1", "true") would blank out ordinary words
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)", re.I)
SLACK_TOKEN = re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+")


URL_VARIABLES = ("REDIS_URL",)  # URLs whose password is a secret though the variable's name does not say so


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values of variables named like secrets and the passwords of URL_VARIABLES, longest first
    (one inside another is covered)."""
    found = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET}
    for name in URL_VARIABLES:
        try:
            password = urlsplit(environ.get(name, "")).password
        except ValueError:
            password = None
        if password and len(password) >= MIN_SECRET:
            found.add(password)
    return sorted(found, key=len, reverse=True)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    if not text:  # most reports (a pause, a finish) have no message: no environment to scan
        return text
    return scrub(text, secret_values(os.environ if environ is None else environ))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` without the given secret values (longest first), URL passwords and Slack tokens."""
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    text = URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return SLACK_TOKEN.sub(REDACTED, text)
