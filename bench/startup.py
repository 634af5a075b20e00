"""Start-up time: ``python -m bot --help`` and ``python -m bot console`` answering one ``/start`` (stdin closed
after it) on a migrated database, each as a fresh process; the best of three runs (the machine is shared).
Goal: ≤ 2 s each."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from bench.common import Result, Workspace

RUNS = 3


async def _time(args: list[str], stdin: bytes, env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"python -m bot {' '.join(args)} failed: {err.decode()[-500:]}")
    if args[0] == "console" and "/menu" not in out.decode() and "[1]" not in out.decode():
        raise RuntimeError("the console did not answer /start")
    return seconds


async def run(workspace: Workspace, quick: bool = False) -> Result:
    url = workspace.fresh_db("startup")
    data = Path(workspace.root) / "startup-data"
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data), "LOG_LEVEL": "WARNING"}
    for key in ("TELEGRAM_BOT_TOKEN", "VK_GROUP_TOKEN"):
        env.pop(key, None)
    runs = 1 if quick else RUNS
    help_s = min([await _time(["--help"], b"", env) for _ in range(runs)])
    console_s = min([await _time(["console", "--user", "bench"], b"/start\n", env) for _ in range(runs)])
    result = Result("startup")
    result.figures["help_seconds"] = round(help_s, 3)
    result.figures["console_first_answer_seconds"] = round(console_s, 3)
    result.goal("python -m bot --help", help_s, 2.0, higher_is_better=False, unit="s")
    result.goal("console: start and answer /start", console_s, 2.0, higher_is_better=False, unit="s")
    return result
