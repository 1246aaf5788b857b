"""What the bot takes out of an error before Slack shows it."""

from __future__ import annotations

from bot.slack.redaction import REDACTED, redact


def test_secret_env_values_url_passwords_and_slack_tokens_are_redacted() -> None:
    env = {"OPENAI_API_KEY": "sk-abcdef123", "DB_PASSWORD": "pw", "HOME": "/root-home-dir"}
    text = "key sk-abcdef123 url redis://:s3cr3t@h:6379/0 and https://u:p@x.io tok xapp-1-A2 home /root-home-dir pw"
    assert redact(text, env) == (
        f"key {REDACTED} url redis://:{REDACTED}@h:6379/0 and https://u:{REDACTED}@x.io tok {REDACTED}"
        " home /root-home-dir pw"  # HOME is not secret; a two-letter password would blank every "pw"
    )


def test_text_without_secrets_is_unchanged() -> None:
    text = "ConnectionError: mail server <smtp.example.com> refused: try later & again (see http://x.io/a@b)"
    assert redact(text, {}) == text
