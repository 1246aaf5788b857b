"""Start-up mistakes, each through the real `python -m bot serve`: one clear line, exit code 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from bot.registry import Registry, RegistryError
from tests.api.conftest import REPO, server_process
from tests.api.test_config import _serve

pytestmark = pytest.mark.e2e  # starts Sluice processes

EXAMPLE = str(REPO / "examples" / "text_revision.py") + ":graph"


def _graphs(tmp_path: Path, spec: dict[str, object]) -> str:
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_a_taken_port_is_one_line_naming_port_and_host() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(PORT=str(port))
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "PORT" in lines[0] and "HOST" in lines[0]
    assert "listening" not in (done.stdout + done.stderr).lower().replace("cannot listen", "")


def test_non_loopback_host_without_api_key_says_the_api_answers_loopback_only() -> None:
    with server_process(HOST="0.0.0.0") as (_, proc):
        pass
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "SLUICE_API_KEY" in output and "loopback clients only" in output, output


def test_approvers_that_are_not_slack_ids_are_named() -> None:
    done = _serve(SLUICE_APPROVERS="U0ANA,alice")
    assert done.returncode == 2
    assert "SLUICE_APPROVERS" in done.stderr and "'alice'" in done.stderr and "U0ANA" not in done.stderr


def test_an_app_token_as_bot_token_is_refused_without_printing_it() -> None:
    done = _serve(SLACK_BOT_TOKEN="xapp-1-A0-123-verysecretvalue", SLACK_SIGNING_SECRET="s")
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN" in done.stderr and "SLACK_APP_TOKEN" in done.stderr and "xoxb-" in done.stderr
    assert "verysecretvalue" not in done.stderr + done.stdout


def test_a_bot_token_as_app_token_is_refused_without_printing_it() -> None:
    done = _serve(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_APP_TOKEN="xoxb-2-verysecretvalue")
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr and "xapp-" in done.stderr
    assert "verysecretvalue" not in done.stderr + done.stdout


def test_unknown_key_in_the_sluice_section_is_named(tmp_path: Path) -> None:
    graphs = _graphs(tmp_path, {"graphs": {"agent": EXAMPLE}, "sluice": {"agent": {"notify_on_finsh": False}}})
    done = _serve(SLUICE_GRAPHS=graphs)
    assert done.returncode == 2
    assert "notify_on_finsh" in done.stderr and "sluice.agent" in done.stderr and graphs in done.stderr
    assert "notify_on_finish" in done.stderr  # the known keys are listed: the typo is easy to spot


def test_a_channel_that_is_neither_id_nor_name_is_refused() -> None:
    """A channel is an id (C…) or a name (`#general`); a mention's markup cannot be either."""
    done = _serve(SLUICE_SLACK_CHANNEL="<#C0123|general>")
    assert done.returncode == 2, done.stderr
    assert "SLUICE_SLACK_CHANNEL" in done.stderr and "'<#C0123|general>'" in done.stderr and "About" in done.stderr


def test_sluice_section_values_are_validated(tmp_path: Path) -> None:
    cases = [
        ({"slack_channel": "deploys team"}, "'deploys team'"),
        ({"escalate_to": {"slack_channel": "@oncall"}}, "'@oncall'"),
        ({"approvers": ["alice"]}, "'alice'"),
        ({"notify_on_finish": "sometimes"}, "notify_on_finish"),
        ({"required_approvals": 0}, "required_approvals"),
        ({"on_timeout": "later"}, "on_timeout"),
        ({"on_timeout": {"resume": None}}, "never resumed with null"),
        ({"escalate_to": {"slack_channel": "C1", "approver": ["U1"]}}, "escalate_to.approver"),
    ]
    for options, named in cases:  # the same loading `serve` does, in this process (a subprocess each is slow)
        graphs = _graphs(tmp_path, {"graphs": {"agent": EXAMPLE}, "sluice": {"agent": options}})
        with pytest.raises(RegistryError) as refused:
            Registry.load(Path(graphs))
        assert named in str(refused.value) and graphs in str(refused.value), (options, refused.value)


def test_sluice_section_naming_no_graph_is_an_error(tmp_path: Path) -> None:
    graphs = _graphs(tmp_path, {"graphs": {"agent": EXAMPLE}, "sluice": {"agnet": {}}})
    done = _serve(SLUICE_GRAPHS=graphs)
    assert done.returncode == 2 and "'agnet'" in done.stderr


def test_a_graph_module_that_fails_on_import_names_file_and_line(tmp_path: Path) -> None:
    module = tmp_path / "broken.py"
    module.write_text("from engine import StateGraph\n\nx = 1\ngraph = undefined_name\n")
    graphs = _graphs(tmp_path, {"graphs": {"broken": "broken.py:graph"}})
    done = _serve(SLUICE_GRAPHS=graphs)
    assert done.returncode == 2
    assert f"{module}, line 4" in done.stderr and "NameError" in done.stderr and "undefined_name" in done.stderr


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    module = tmp_path / "typo.py"
    module.write_text("x = 1\ndef graph(:\n")
    done = _serve(SLUICE_GRAPHS=_graphs(tmp_path, {"graphs": {"typo": "typo.py:graph"}}))
    assert done.returncode == 2 and f"{module}, line 2" in done.stderr and "SyntaxError" in done.stderr


def test_bolt_does_not_warn_that_the_token_is_unused_and_loopback_needs_no_key() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    with server_process(**env) as (_, proc):  # HOST=127.0.0.1
        pass
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "unused" not in output and "listening" in output, output
    assert "loopback clients only" not in output


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_signing_secret_is_missing_not_an_empty_key(blank: str) -> None:
    done = _serve(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET=blank)
    assert done.returncode == 2, done.stderr
    assert "SLACK_SIGNING_SECRET missing" in done.stderr and "Traceback" not in done.stderr


def test_a_blank_bot_token_is_missing_not_a_bolt_traceback() -> None:
    done = _serve(SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="s")
    assert done.returncode == 2, done.stderr
    assert "SLACK_BOT_TOKEN missing" in done.stderr and "Traceback" not in done.stderr
