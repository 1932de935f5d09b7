"""A short run of the load generator and of each fault (issue 16).

``make load`` (the sizing table) and ``make faults`` are the full runs and stay out of ``make
test``; this runs the same code on a few registrations: ``benchmarks/load.py`` on 2 instances
each pinned to a core, real engines, the real clip, one PostgreSQL database, and
``benchmarks/faults.py --smoke``'s kill -9 (clients going to each instance, then through the
reference nginx), oversized uploads and exhausted worker queue. The
PostgreSQL restart is left to ``make faults``: here it would cut the test suite's own
connections to the same server (its handling is tested in test_database_unavailable.py).

Needs the PostgreSQL server of ``REALNAME_TEST_POSTGRES_URL`` (skipped when it is unset, failing
when it is set and the server is absent) and ../shared/data.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.service.conftest import POSTGRES_ENV

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"),
]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def faults() -> ModuleType:
    return _module("faults")  # it loads benchmarks/load.py as the module ``load``


def _args(data_dir: Path) -> argparse.Namespace:
    return argparse.Namespace(database_url=os.environ[POSTGRES_ENV], data=data_dir)


def _transport_only(result: dict[str, Any]) -> None:
    """Every failed registration failed on a dropped connection, nothing else."""
    for failure in result["failures"]:
        assert "disconnected" in failure.lower() or "Error" in failure, failure


def test_whole_registrations_on_two_instances_pass_and_are_measured(
    faults: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    load = sys.modules["load"]
    result = load.run(2, 2, 4, 180, None, os.environ[POSTGRES_ENV], data_dir, tmp_path)
    assert result["invariants_ok"], result["invariants"]
    assert (result["registrations"], result["failed"]) == (4, 0), result["failures"]
    assert result["cores"] == sorted({0, 1 % (os.cpu_count() or 1)})
    assert result["capture_p50_s"] > 0 and result["capture_p95_s"] >= result["capture_p50_s"]
    assert result["cpu_s_per_verification"] > 0 and result["db_ms_per_registration"] > 0
    assert all(m > 100 for m in result["peak_rss_mb"])  # the models are loaded: a real instance
    # every step of every registration answered, each request on the next instance
    for step in ("session 201", "card 200", "capture 200", "bind 201"):
        assert result["seen"].get(step, 0) >= 4, (step, result["seen"])


def test_an_instance_killed_mid_load_leaves_nothing_half_written(
    faults: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    result = faults.scenario("kill9", _args(data_dir), tmp_path, smoke=True)
    assert result["invariants_ok"], result["invariants"]
    seen = result["seen"]
    assert seen["FAULT instance 0 killed (SIGKILL)"] == 1
    assert seen["FAULT instance 0 serving again"] == 1
    assert result["registrations"] >= 1
    assert result["registrations"] + result["failed"] == 5
    _transport_only(result)


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (apt nginx-light)")  # fmt: skip
def test_through_the_proxy_a_request_the_killed_instance_held_gets_a_retryable_503(
    faults: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    result = faults.scenario("kill9-proxy", _args(data_dir), tmp_path, smoke=True)
    assert result["invariants_ok"], result["invariants"]
    seen = result["seen"]
    assert seen["FAULT instance 0 killed (SIGKILL)"] == 1
    assert result["registrations"] >= 1
    assert result["registrations"] + result["failed"] == 5
    # nginx answers for the instance that went away; a client never sees a dropped connection
    # or nginx's own 502 page
    assert not [k for k in seen if " 502" in k or "Error" in k or "Disconnected" in k], seen
    for failure in result["failures"]:  # a capture cut off: its nonce is spent, said so
        assert "NONCE_INVALID" in failure or "CAPTURE_INTERRUPTED" in failure, failure


def test_oversized_uploads_are_refused_413_while_registrations_go_on(
    faults: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    result = faults.scenario("upload-limit", _args(data_dir), tmp_path, smoke=True)
    assert result["invariants_ok"], result["invariants"]
    assert (result["registrations"], result["failed"]) == (3, 0), result["failures"]
    oversized = {k: v for k, v in result["seen"].items() if k.startswith("oversized")}
    assert oversized, result["seen"]
    assert set(oversized) <= {
        "oversized card 413 PAYLOAD_TOO_LARGE",
        "oversized clip 413 PAYLOAD_TOO_LARGE",
    }, oversized


def test_an_exhausted_worker_queue_answers_busy_and_every_retry_completes(
    faults: ModuleType, data_dir: Path, tmp_path: Path
) -> None:
    result = faults.scenario("queue", _args(data_dir), tmp_path, smoke=True)
    assert result["invariants_ok"], result["invariants"]
    assert (result["registrations"], result["failed"]) == (4, 0), result["failures"]
    # the card's portrait and the clip are both verified in the one worker: either is refused
    busy = {k: v for k, v in result["seen"].items() if " 503 " in k}
    assert busy and set(busy) <= {"card 503 BUSY", "capture 503 BUSY"}, result["seen"]
