"""bench/load.py, small: every pause resumed once under a click storm over two serve processes, also
with one of them SIGKILLed halfway through the clicks; no ack slower than Slack's three seconds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.e2e  # starts Sluice processes

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("variant", ["plain", "kill"])
async def test_a_click_storm_resumes_every_pause_once(variant: str, tmp_path: Path) -> None:
    load = _bench()
    result = await load.run_variant(variant, pauses=12, in_flight=24, workdir=tmp_path, quiet=True)
    assert (result.resumed, result.duplicates, result.lost) == (12, 0, 0), result.line()
    assert sum(1 for a in result.acks if a > load.SLACK_ACK_LIMIT_S) == 0, result.line()
    if variant == "plain":
        assert result.failed == 0 and len(result.acks) == 36, result.line()
