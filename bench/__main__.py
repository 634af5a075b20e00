"""``python -m bench [--quick] [--only p1,p4]``: run the benchmarks, print figures, ratios and goals, and
write bench/results/latest.json and bench/results/latest.md.

The benchmarks use the test fakes (tests/fakes/telegram_server.py, tests/fakes/vk_server.py) on loopback and
temporary SQLite databases under one temp dir (removed at the end). Data is seeded. Absolute figures depend
on the machine and its load; the ratios are measured within one run and are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    p1_floors,
    p1_throughput,
    p2_broadcast,
    p3_scheduler,
    p4_matching,
    p5_latency,
    p6_memory,
    startup,
)
from bench.common import Result, Workspace

RESULTS_DIR = Path(__file__).parent / "results"

Runner = Callable[[Workspace, bool], Awaitable[Result]]


async def _p4(workspace: Workspace, quick: bool) -> Result:
    return p4_matching.run(quick)


BENCHMARKS: dict[str, tuple[str, Runner]] = {
    "p1": ("update throughput (ours vs aiogram echo)", p1_throughput.run),
    "floors": ("what bounds P1: each piece of an update timed alone", p1_floors.run),
    "p5": ("reply latency under 200 updates/s", p5_latency.run),
    "p2": ("broadcast rate vs platform limits", p2_broadcast.run),
    "p3": ("check-in tick at 25k/50k/100k due", p3_scheduler.run),
    "p4": ("cohort matching 10k teachers x 1k mentors", _p4),
    "p6": ("memory per person: 2 x 10,000 people /start", p6_memory.run),
    "start": ("start-up time: --help and the console's first answer", startup.run),
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: list[Result]) -> list[str]:
    """Markdown rows: one per goal (value, target, met), then every figure and ratio."""
    lines = ["| benchmark | goal | measured | target | met |", "|---|---|---|---|---|"]
    for result in results:
        for name, goal in result.goals.items():
            target = f"{goal['op']} {_fmt(goal['target'])}{goal['unit']}"
            met = "yes" if goal["met"] else "NO"
            lines.append(
                f"| {result.name} | {name} | {_fmt(goal['value'])}{goal['unit']} | {target} | {met} |"
            )
    lines += ["", "| benchmark | figure / ratio | value |", "|---|---|---|"]
    for result in results:
        for key, value in result.figures.items():
            lines.append(f"| {result.name} | {key} | {_fmt(value)} |")
        for key, ratio in result.ratios.items():
            lines.append(f"| {result.name} | ratio: {key} | {_fmt(ratio)} |")
    return lines


async def main_async(quick: bool, only: list[str]) -> list[Result]:
    workspace = Workspace()
    results: list[Result] = []
    try:
        await workspace.prepare()
        for key in only:
            title, runner = BENCHMARKS[key]
            print(f"== {key}: {title}{' (quick)' if quick else ''} ...", flush=True)
            started = time.perf_counter()
            result = await runner(workspace, quick)
            result.figures["wall_seconds"] = round(time.perf_counter() - started, 1)
            results.append(result)
            for name, goal in result.goals.items():
                print(
                    f"   {name}: {_fmt(goal['value'])}{goal['unit']} (goal {goal['op']} {goal['target']})"
                    f" {'met' if goal['met'] else 'NOT met'}",
                    flush=True,
                )
    finally:
        await workspace.drop_pg()
        workspace.cleanup()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a ~1-minute smoke run")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: p1,p2,p3,p4,p5,start")
    parser.add_argument("--output", default=str(RESULTS_DIR), help="folder for latest.json / latest.md")
    args = parser.parse_args(argv)
    only = [key.strip() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in only if key not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiogram").setLevel(logging.ERROR)

    started = time.perf_counter()
    results = asyncio.run(main_async(args.quick, only))
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine,
        "results": [result.as_dict() for result in results],
    }
    lines = table(results)
    print()
    print("\n".join(lines))
    print(f"\nmachine: {machine}; total {report['wall_seconds']} s")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    header = [
        f"# Benchmarks ({'quick' if args.quick else 'full'} run, {report['finished_at']})",
        "",
        f"Machine: {machine['cpus']} CPUs, load {machine['load_avg_1m']} (1 min), Python {machine['python']}."
        " Absolute figures are noisy on a shared machine; ratios are measured within the same run.",
        "",
    ]
    notes = [f"- {r.name}: {note}" for r in results for note in r.notes]
    (output / "latest.md").write_text("\n".join(header + lines + (["", *notes] if notes else [])) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
