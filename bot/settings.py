"""Settings from the environment, read and validated once at start-up.

Every variable of the README's Configuration table lives here. A malformed value stops the process with a message
naming the variable; Slack's three variables are all-or-nothing (see `slack_enabled`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.slack_ids import app_token_problem, approver_problem, bot_token_problem, channel_problem


class SettingsError(Exception):
    """The environment is missing or has a malformed variable; the message names it."""


SLACK_REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    redis_url: SecretStr | None = None
    port: int = Field(default=3000, ge=0, le=65535)
    host: str = "0.0.0.0"
    sluice_graphs: Path = Path("langgraph.json")
    sluice_slack_channel: str | None = None
    sluice_approvers: str | None = None
    sluice_api_key: SecretStr | None = None
    sluice_thread_ttl: int | None = Field(default=None, gt=0, description="seconds a thread's checkpoints are kept")
    sluice_audit_maxlen: int = Field(default=10_000, ge=1, description="audit entries kept per thread")
    sluice_run_lease: float = Field(default=15.0, ge=1.0, le=3600.0, description="seconds before a dead process's run is taken over")

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", "sluice_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `SLACK_SIGNING_SECRET=` must not turn Slack on with an empty HMAC key (anyone could sign).
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            scheme = urlsplit(value.get_secret_value()).scheme
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        problem = bot_token_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        problem = app_token_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("sluice_slack_channel", mode="before")
    @classmethod
    def _channel(cls, value: object) -> object:
        if value is None or isinstance(value, str) and not value.strip():
            return None
        problem = channel_problem(value.strip() if isinstance(value, str) else value)
        if problem:
            raise ValueError(problem)
        return value.strip() if isinstance(value, str) else value

    @field_validator("sluice_approvers")
    @classmethod
    def _approvers(cls, value: str | None) -> str | None:
        problem = approver_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        if value and not value.endswith("/"):
            value += "/"
        return value or None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and self.slack_signing_secret is not None

    def missing_slack(self) -> list[str]:
        """Names of the Slack variables missing when some but not all are set (empty: all or none)."""
        present = {
            "SLACK_BOT_TOKEN": self.slack_bot_token is not None,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret is not None,
        }
        if self.slack_app_token is not None:
            present["SLACK_APP_TOKEN"] = True
        if not any(present.values()):
            return []
        return [name for name, ok in present.items() if not ok]

    @property
    def redis_url_value(self) -> str | None:
        return self.redis_url.get_secret_value() if self.redis_url else None

    @property
    def api_key_value(self) -> str | None:
        return self.sluice_api_key.get_secret_value() if self.sluice_api_key else None


def load_settings() -> Settings:
    """Reads the environment; raises SettingsError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "environment"
            message = str(error["msg"]).removeprefix("Value error, ")  # never the input: it may be a secret
            problems.append(f"{name}: {message}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
