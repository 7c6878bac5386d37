"""Real processes for fault tests: a private redis-server, a Celery worker with beat, and the
test process's Celery client pointed at the private broker. Everything started here is
stopped by its own process (group) id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import kombu.pools
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The pytest-django test database, for a subprocess."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(check: Callable[[], T], timeout: float, what: str,
               details: Callable[[], str] = lambda: "", interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``details()`` if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                 f"{details()}")
        time.sleep(interval)


class ManagedProcess:
    """A subprocess in its own session, so it and every child it forks can be signalled
    together by its process group id."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv, self.log_path, self.env = argv, log, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group at once (no shutdown handlers run)."""
        if self.process is not None:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group; SIGKILL it if it has not exited after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.signal_group(signal.SIGKILL)  # and any child left behind in the group
        self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


class RedisServer(ManagedProcess):
    """A throw-away redis-server on its own port (no persistence): restart = empty."""

    def __init__(self, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        super().__init__(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--daemonize", "no"], log)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        super().start()
        wait_until(self.ping, 10, f"redis-server on port {self.port}", self.log_tail)


@contextmanager
def redis_server(directory: Path, port: int | None = None) -> Iterator[RedisServer]:
    server = RedisServer(directory / "redis.log", port)
    try:
        server.start()
        yield server
    finally:
        server.signal_group(signal.SIGCONT)  # in case a test froze it
        server.stop()


class CeleryWorker(ManagedProcess):
    """``celery worker --beat --pool=solo`` against the test database and a given broker.
    Beat runs as a forked child, hence the process group."""

    def __init__(self, directory: Path, broker_url: str, name: str,
                 extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker_url,
               "MDM_DISPATCH_SECONDS": "1", "MDM_PULL_CHECK_SECONDS": "3600",
               "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        env.pop("CELERY_RESULT_BACKEND", None)
        argv = [sys.executable, "-m", "celery", "-A", "mdm", "worker", "--beat", "--pool=solo",
                "--loglevel=INFO", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                "--schedule", str(directory / f"{name}-beat-schedule")]
        super().__init__(argv, directory / f"{name}.log", env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode})\n"
                                     f"{self.log_tail()}")
            return " ready." in self.log_tail(10**6)

        wait_until(ready, timeout, "the worker to be ready", self.log_tail, interval=0.2)


@contextmanager
def celery_worker(directory: Path, broker_url: str, name: str = "worker",
                  ready: bool = True, **kwargs: Any) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(directory, broker_url, name, **kwargs)
    try:
        worker.start()
        if ready:
            worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def _forget_pools(app: Any, close: bool) -> None:
    """Make ``app`` build new connection/producer pools on next use; with ``close``, close
    its current ones and drop them from kombu's process-wide registry (keyed by URL, so a
    later broker on a reused port would otherwise get the closed pool back)."""
    pool = app._pool
    if close and pool is not None:
        for group in (kombu.pools.producers, kombu.pools.connections):
            for key, value in list(group.items()):
                if value is pool or getattr(value, "connections", None) is pool:
                    with suppress(Exception):
                        value.force_close_all()
                    dict.__delitem__(group, key)  # keys are already eqhashes
    app._pool = None
    with suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@contextmanager
def celery_client(broker_url: str, **conf: Any) -> Iterator[Any]:
    """Point this process's Celery app (``.delay`` after commit) at ``broker_url``, not
    eager; restore the previous configuration afterwards. (``broker_url`` alone is not
    enough: the CELERY_BROKER_URL environment variable wins over it, the write/read URLs
    do not.)"""
    from mdm.celery import app

    settings = {"broker_url": broker_url, "broker_write_url": broker_url,
                "broker_read_url": broker_url, "task_always_eager": False, **conf}
    saved = {key: app.conf.get(key) for key in settings}
    _forget_pools(app, close=False)  # the default broker's pools stay for later tests
    app.conf.update(settings)
    try:
        assert app.conf.broker_write_url == broker_url, "CELERY_BROKER_WRITE_URL is set"
        yield app
    finally:
        _forget_pools(app, close=True)
        app.conf.update(saved)
