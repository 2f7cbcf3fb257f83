from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Serve the web tier (gunicorn) and a django-q2 worker (qcluster) together; stop both "
        "on Ctrl-C, or when either exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "execution_project.wsgi",
                "--bind",
                bind,
                "--workers",
                str(options["web_workers"]),
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [sys.executable, "manage.py", "qcluster"],
        }
        # Each in its own process group: a terminal's Ctrl-C reaches only us, and we stop each
        # group whole, workers and all, instead of racing the signal to half of them.
        processes = {
            name: subprocess.Popen(command, start_new_session=True)
            for name, command in commands.items()
        }
        self.stdout.write(f"Serving on http://{bind}/ with a qcluster worker. Ctrl-C stops both.")

        def stop(*_: Any) -> None:
            raise KeyboardInterrupt

        # Both explicitly: a shell that starts us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            exited = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(exited)} exited; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            # SIGTERM to each leader only: gunicorn's master and qcluster's sentinel stop their
            # own workers gracefully, while a signal to the whole group makes qcluster's
            # children stop out of turn and the cluster hang.
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)
                # Whatever the graceful stop left behind (a worker stuck in a task) goes too.
                _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
