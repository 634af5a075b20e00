"""Smoke test of the benchmark runner: ``python -m bench --quick --only p4`` runs and writes the expected
keys. Only the shape is checked — never timings (those are the benchmarks' job, not the tests')."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_quick_p4_run_writes_results(tmp_path: Path) -> None:
    completed = _bench("--quick", "--only", "p4", "--output", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "assign_cohort time" in completed.stdout
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["quick"] is True
    assert {"finished_at", "wall_seconds", "machine", "results"} <= report.keys()
    [result] = report["results"]
    assert result["name"] == "p4_matching"
    assert {"cohort_seconds", "greedy_seconds", "cohort_total_score", "greedy_total_score"} <= result[
        "figures"
    ].keys()
    assert "score_cohort_vs_greedy" in result["ratios"]
    for goal in result["goals"].values():
        assert {"value", "target", "op", "met"} <= goal.keys()
        assert isinstance(goal["met"], bool)
    markdown = (tmp_path / "latest.md").read_text()
    assert "| p4_matching | assign_cohort time |" in markdown


def test_unknown_benchmark_is_rejected(tmp_path: Path) -> None:
    completed = _bench("--only", "p9", "--output", str(tmp_path))
    assert completed.returncode == 2
    assert "unknown benchmark" in completed.stderr
    assert not (tmp_path / "latest.json").exists()


def test_quick_floors_run_prints_every_piece(tmp_path: Path) -> None:
    """The P1 floors benchmark runs the real dispatcher, renderer and engines; only the shape is checked."""
    completed = _bench("--quick", "--only", "floors", "--output", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    [result] = json.loads((tmp_path / "latest.json").read_text())["results"]
    pieces = ("echo_update", "dispatcher_start_new", "dispatcher_menu", "send_reply", "session_empty")
    for piece in (*pieces, "load_store", "raw_sqlite"):
        assert result["figures"][f"{piece}_cpu_ms"] > 0
    assert {"dispatcher_start_new_vs_echo_update", "load_store_vs_raw_sqlite"} <= result["ratios"].keys()
