"""Sluice service: the HTTP API, the Slack bot and the playground, in one aiohttp application."""
