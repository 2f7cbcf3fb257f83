"""``manage.py scan_execution``: the execution scanner, from Django.

The engine is scripts/scan_execution_violations.py, which runs without Django; this command only
exposes it where operators already look, with the same options, the same output and the same
exit codes (0 clean, 1 violations, 2 usage error). It skips Django's system checks: a scanner
must be able to report on a project that does not pass them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

SCANNER_MODULE = "scripts.scan_execution_violations"


def _load_scanner() -> ModuleType:
    """Import the scanner; ``scripts`` is not an installed package, so fall back to its file."""
    try:
        return importlib.import_module(SCANNER_MODULE)
    except ImportError:
        path = Path(__file__).resolve().parents[3] / "scripts" / "scan_execution_violations.py"
        spec = importlib.util.spec_from_file_location(SCANNER_MODULE, path)
        if spec is None or spec.loader is None or not path.is_file():
            raise CommandError(f"The execution scanner is not at {path}.") from None
        module = importlib.util.module_from_spec(spec)
        sys.modules[SCANNER_MODULE] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        return module


scanner = _load_scanner()


class Command(BaseCommand):
    help = (
        "Check the execution-governance invariants (only the ToolRunner runs plugins, metrics "
        "in its finally, states from the enums, ExecutionFailure errors). See docs/scanner.md."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        scanner.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["path"]
        if not root.is_dir():
            raise CommandError(f"--path {root} is not a directory", returncode=2)
        violations = scanner.scan(root)
        self.stdout.write(scanner.render(violations, options["format"]))
        if violations:
            raise SystemExit(1)
