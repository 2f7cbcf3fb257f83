"""``manage.py scan_execution``: the execution scanner, from Django.

The scanner (scripts/execution_scanner/) runs without Django; this command only exposes it where
operators already look, with the same options, output and exit codes (0 clean, 1 violations,
2 usage error). It skips Django's system checks: a scanner must be able to report on a project
that does not pass them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scripts import execution_scanner


class Command(BaseCommand):
    help = "Check the execution-governance invariants. See docs/scanner.md."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        execution_scanner.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["path"]
        if not root.is_dir():
            raise CommandError(f"--path {root} is not a directory", returncode=2)
        violations = execution_scanner.scan(root)
        self.stdout.write(execution_scanner.render(violations, options["format"]))
        if violations:
            raise SystemExit(1)
