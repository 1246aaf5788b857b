"""The registry as the Slack bot sees it (`bot.slack.ports.Assistants`)."""

from __future__ import annotations

from typing import Any

from bot.assistant_settings import AssistantSettings
from bot.registry import Registry
from bot.slack.inputs import input_for


class SlackAssistants:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def names(self) -> list[str]:
        return self._registry.names()

    def default_channel(self, assistant_id: str) -> str | None:
        found = self._registry.find(assistant_id)
        return found.slack_channel if found else None

    def approvers(self, assistant_id: str) -> frozenset[str]:
        found = self._registry.find(assistant_id)
        return found.approvers if found else frozenset()

    def notify_on_finish(self, assistant_id: str) -> bool:
        found = self._registry.find(assistant_id)
        return found.settings.notify_on_finish if found else True

    def settings(self, assistant_id: str) -> AssistantSettings:
        found = self._registry.find(assistant_id)
        return found.settings if found else AssistantSettings()

    def input_for(self, assistant_id: str, text: str) -> Any:
        found = self._registry.find(assistant_id)
        return input_for(found.graph if found else None, text)
