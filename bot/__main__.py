"""`python -m bot serve` (the service) and `python -m bot playground` (all of it in a browser)."""

from __future__ import annotations

import argparse
import logging
import sys

from bot import logs
from bot.registry import RegistryError
from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Sluice: human-in-the-loop for agent graphs")
    parser.add_argument("command", choices=["serve", "playground"], help="serve the API and Slack bot, or the playground")
    args = parser.parse_args(argv)
    logs.configure(logging.INFO)  # every line scrubbed of secrets (`bot.logs`)
    try:
        settings = load_settings()
        if args.command == "playground":
            from bot.playground import run as run_playground

            run_playground(settings)
        else:
            from bot.serve import serve

            serve(settings)
    except (SettingsError, RegistryError) as exc:
        print(f"sluice: {logs.redacted(str(exc))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
