"""The execution scanner: the governance invariants, checked on the AST of every project file."""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from . import engine
from .engine import OK_MESSAGE, Violation, matches, render
from .rules import RULES

__all__ = ["OK_MESSAGE", "RULES", "Violation", "main", "matches", "render", "scan", "scan_sources"]


def scan_sources(files: Mapping[str, str | bytes]) -> list[Violation]:
    """Scan an in-memory tree: relative POSIX path -> source."""
    return engine.scan_parsed(engine.parse(files), RULES)


def scan(root: Path) -> list[Violation]:
    """Scan the project at ``root``; paths in the result are relative to it."""
    files = engine.python_files(root)
    return scan_sources({path.relative_to(root).as_posix(): path.read_bytes() for path in files})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, shared by the script and ``manage.py scan_execution``."""
    parser.add_argument("--path", type=Path, default=engine.REPOSITORY, help="project root to scan")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """The script: exit 0 when clean, 1 on violations, 2 on a usage error (see docs/scanner.md)."""
    parser = argparse.ArgumentParser("scan_execution_violations", description="docs/scanner.md")
    add_arguments(parser)
    options = parser.parse_args(argv)
    if not options.path.is_dir():
        parser.error(f"--path {options.path} is not a directory")
    violations = scan(options.path)
    (stdout or sys.stdout).write(render(violations, options.format) + "\n")
    return 1 if violations else 0
