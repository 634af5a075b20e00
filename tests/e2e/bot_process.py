"""``python -m bot run`` as a real subprocess against the fake Telegram server (crash and instance tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegramServer

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0  # a loaded machine needs a while to import aiogram


class BotProcess:
    """``python -m bot run`` in a subprocess against the fake server; its log goes to ``log_dir``."""

    def __init__(
        self, server: FakeTelegramServer, env: dict[str, str], log_dir: Path, name: str = "bot"
    ) -> None:
        self.name = name
        self.server = server
        self.env = env
        self.log_dir = log_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, wait_ready: bool = True) -> None:
        """Start the bot; with ``wait_ready`` return once it polls the fake (a new ``getUpdates`` call)."""
        assert self.proc is None
        polls = len(self.server.calls_to("getUpdates"))
        self.starts += 1
        log_file = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.log_dir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        log_file.close()
        if not wait_ready:
            return
        try:
            await self.server.wait_until(
                lambda: len(self.server.calls_to("getUpdates")) > polls or self._exited(),
                timeout=START_TIMEOUT,
            )
        except AssertionError:
            raise AssertionError(f"the bot did not start polling:\n{self.logs()}") from None
        assert not self._exited(), f"the bot exited at start:\n{self.logs()}"

    def _exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.proc = None

    def current_log(self) -> str:
        path = self.log_dir / f"{self.name}-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def wait_for_log(self, fragment: str, timeout: float = START_TIMEOUT) -> float:
        """Wait until the running process logs ``fragment``; returns the seconds waited."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while fragment not in self.current_log():
            assert not self._exited(), f"{self.name} exited:\n{self.logs()}"
            assert loop.time() - started < timeout, f"{self.name} never logged {fragment!r}:\n{self.logs()}"
            await asyncio.sleep(0.1)
        return loop.time() - started

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )


def bot_env(db_url: str, server: FakeTelegramServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "DELIVERY_", "ADMIN_", "QUIET_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_BASE": server.url,
            "DATABASE_URL": db_url,
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "INFO",
            "INBOUND_LIMIT_PER_10S": "100000",
            "QUIET_HOURS_START": "0",  # start == end: no quiet hours, whatever the time of the run
            "QUIET_HOURS_END": "0",
            "SCHEDULER_DRAIN_SECONDS": "0.2",
            **extra,
        }
    )
    return env


@contextlib.asynccontextmanager
async def bot_process_for(
    db_url: str, server: FakeTelegramServer, tmp_path: Path, **extra: str
) -> AsyncIterator[BotProcess]:
    """A ``BotProcess`` on the test database (not started), killed at the end if it still runs."""
    process = BotProcess(server, bot_env(db_url, server, tmp_path, **extra), tmp_path)
    try:
        yield process
    finally:
        if process.proc is not None:
            await process.kill()
