"""The two Slack app manifests describe the same app; only how Slack reaches the bot differs."""

from __future__ import annotations

from typing import Any

import yaml

from tests.api.conftest import REPO

EVENTS_URL = "https://sluice.example.com/slack/events"


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_http_manifest_sends_everything_to_the_events_url() -> None:
    http = _load("manifest.yml")
    settings = http["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["interactivity"]["request_url"] == EVENTS_URL
    assert [c["url"] for c in http["features"]["slash_commands"]] == [EVENTS_URL]


def test_socket_mode_manifest_has_no_urls_and_the_same_scopes_and_events() -> None:
    http, socket = _load("manifest.yml"), _load("manifest.socket-mode.yml")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "example.com" not in yaml.safe_dump(socket)
    assert socket["oauth_config"] == http["oauth_config"]
    assert socket["settings"]["event_subscriptions"]["bot_events"] == http["settings"]["event_subscriptions"]["bot_events"]
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in socket["features"]["slash_commands"]] == ["/sluice"]


def test_the_buildpack_finds_a_python_app_that_installs_this_package() -> None:
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["."]
    assert (REPO / "Procfile").read_text().strip() == "web: python -m bot serve"
