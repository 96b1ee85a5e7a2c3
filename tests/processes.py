"""Real processes for the crash tests: Celery workers, ``redwall scheduler``, a private Redis.

Everything started here is stopped by the test that started it, by process id.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(database_url: str, redis_url: str | None, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "crash-tests-secret-key-0123456789abcdef0123456789",
        "PYTHONPATH": str(REPO),
        "REDWALL_SCHEDULER_INTERVAL": "0.2",
        "REDWALL_TIMER_LEASE": "3",
        "REDWALL_CELERY_VISIBILITY": "4",
    })
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Started:
    """A child process with its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not print {needle!r} in {timeout} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, no chance to clean up: what a crash looks like."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()


def celery_worker(name: str, env: dict, log_dir: Path) -> Started:
    # solo pool: the task runs in the worker process itself, so SIGKILL hits it mid-task
    args = [PYTHON, "-m", "celery", "-A", "server.celery_app", "worker", "--pool=solo", "-Q", "redwall",
            "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    return Started(name, args, env, log_dir)


def scheduler(name: str, env: dict, log_dir: Path, *extra: str) -> Started:
    return Started(name, [PYTHON, "-m", "server.cli", "scheduler", "--name", name, *extra], env, log_dir)


class PrivateRedis:
    """A throw-away redis-server without persistence, restartable on its port."""

    def __init__(self, log_dir: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed")
        self.port = free_port()
        self.log_dir = log_dir
        self.process: Started | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Started(f"redis-{self.port}-{int(time.time() * 1000)}", args, dict(os.environ), self.log_dir)
        self.process.wait_for_output("Ready to accept connections", 10)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.stop()


def poll(condition, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout} s")


def scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
