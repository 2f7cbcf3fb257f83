"""The execution scanner: the governance invariants, checked on the AST of every project file.

    python scripts/scan_execution_violations.py [--path DIR] [--format text|json]
    python manage.py scan_execution [--path DIR] [--format text|json]

Exit codes: 0 clean, 1 violations, 2 usage error. See docs/scanner.md.
"""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from . import engine
from .engine import OK_MESSAGE, Rule, Violation, matches, render
from .rules import RULES

__all__ = ["OK_MESSAGE", "RULES", "Rule", "Violation", "main", "matches", "render", "scan"]


def scan_sources(files: Mapping[str, str | bytes]) -> list[Violation]:
    """Scan an in-memory tree: relative POSIX path -> source."""
    return engine.scan_parsed(engine.parse(files), RULES)


def scan(root: Path) -> list[Violation]:
    """Scan the project at ``root``; paths in the result are relative to it."""
    return scan_sources(
        {p.relative_to(root).as_posix(): p.read_bytes() for p in engine.python_files(root)}
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, shared by the script and ``manage.py scan_execution``."""
    parser.add_argument("--path", type=Path, default=engine.REPOSITORY, help="project root to scan")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser("scan_execution_violations", description="docs/scanner.md")
    add_arguments(parser)
    options = parser.parse_args(argv)
    if not options.path.is_dir():
        parser.error(f"--path {options.path} is not a directory")
    violations = scan(options.path)
    (stdout or sys.stdout).write(render(violations, options.format) + "\n")
    return 1 if violations else 0
