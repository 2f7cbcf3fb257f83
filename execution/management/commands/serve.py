from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger("execution.serve")

# A child that dies is started again after BACKOFF_FIRST seconds, doubling with every death
# that follows soon after its start, up to BACKOFF_MAX; one that ran STABLE_AFTER seconds
# starts again from BACKOFF_FIRST.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
POLL_SECONDS = 0.2

# What gunicorn's master means by its exit status (gunicorn.arbiter.Arbiter).
_GUNICORN_STATUS = {
    3: "a web worker exited with status 3, which gunicorn takes for a boot failure and halts on "
    "(a plugin or library called os._exit(3) or sys.exit(3) in a worker)",
    4: "gunicorn could not load the application (status 4)",
}


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = BACKOFF_FIRST
    restarts: int = field(default=0)

    def start(self) -> None:
        # Its own process group: a terminal's Ctrl-C reaches only us, and we stop each group
        # whole, workers and all, instead of racing the signal to half of them.
        self.process = subprocess.Popen(self.command, start_new_session=True)
        self.started_at, self.restart_at = time.monotonic(), None

    def why_it_ended(self) -> str:
        assert self.process is not None
        status = self.process.returncode
        if status < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-status).name}"
            return f"killed by signal {-status}"
        if self.name == "web" and status in _GUNICORN_STATUS:
            return _GUNICORN_STATUS[status]
        return f"exited with status {status}"


class Command(BaseCommand):
    help = (
        "Serve the web tier (gunicorn) and a django-q2 worker (qcluster) together. A child that "
        "dies is started again, with backoff; Ctrl-C or SIGTERM stops both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        children = [
            Child(
                "web",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:execution_project.gunicorn_conf",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["web_workers"]),
                ],
            ),
            Child("worker", [sys.executable, "manage.py", "qcluster"]),
        ]
        for child in children:
            child.start()
        self.stdout.write(f"Serving on http://{bind}/ with a qcluster worker. Ctrl-C stops both.")

        def stop(*_: Any) -> None:
            raise KeyboardInterrupt

        # Both explicitly: a shell that starts us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while True:
                for child in children:
                    self._supervise(child)
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _stop_all(children)

    def _supervise(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                message = f"Starting {child.name} again (restart {child.restarts})."
                logger.warning(message)
                self.stderr.write(message)
                child.start()
            return
        assert child.process is not None
        if child.process.poll() is None:
            return
        # Whatever the dead leader left in its group (a worker it could not stop) goes too.
        _signal_group(child.process, signal.SIGKILL)
        if now - child.started_at >= STABLE_AFTER:
            child.backoff = BACKOFF_FIRST
        message = (
            f"{child.name} {child.why_it_ended()}; starting it again in {child.backoff:g} s "
            "(the other child keeps running)."
        )
        logger.error(message)
        self.stderr.write(message)
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)


def _stop_all(children: list[Child]) -> None:
    # SIGTERM to each leader only: gunicorn's master and qcluster's sentinel stop their own
    # workers gracefully, while a signal to the whole group makes qcluster's children stop out
    # of turn and the cluster hang.
    running = [child.process for child in children if child.process is not None]
    for process in running:
        if process.poll() is None:
            process.terminate()
    for process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        # Whatever the graceful stop left behind (a worker stuck in a task) goes too.
        _signal_group(process, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
