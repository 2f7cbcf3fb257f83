"""The engine: the ``Rule``, the project's files parsed once, every rule run, the report. It reads
the AST, never importing what it checks: it runs before Django, on a tree that does not import."""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from .names import Module

REPOSITORY = Path(__file__).resolve().parents[2]
OK_MESSAGE = "Execution scanner OK"
# Not the project's code; and tests build fakes and call plugins directly to test them. Skipped
# too: hidden directories, *.egg-info and any virtualenv (a directory holding pyvenv.cfg).
SKIP_DIRS = {"migrations", "build", "dist", "node_modules", "__pycache__", "site-packages"}
SKIP_DIRS |= {"tests", "venv"}
EVERYTHING = ("*",)  # an allow-list entry that waives the whole rule
Parsed = dict[str, Module | SyntaxError | ValueError]


class Finding(NamedTuple):
    node: ast.AST  # where
    detail: str  # what is wrong there
    key: str = ""  # what an allow-list entry names to waive it (Rule.allow)


class Violation(NamedTuple):
    """One broken invariant at one place; sorts by path, line, column, rule."""

    path: str
    line: int
    col: int
    rule: str
    message: str

    def as_text(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.rule} {self.message}"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One invariant: ``why`` it exists, the files it applies to, and the only way out, ``allow``:
    a path glob -> EVERYTHING or the keys of the findings waived there (a dotted key waives the
    names inside it). ``defined_in``, the rule's own file, is where a stale entry is reported."""

    id: str
    why: str
    scope: tuple[str, ...]
    defined_in: str
    allow: Mapping[str, Collection[str]] = dataclasses.field(default_factory=dict)
    check: Callable[[Module, Tree], Iterable[Finding]] = lambda module, tree: ()
    check_tree: Callable[[Tree], Iterable[Violation]] = lambda tree: ()

    def waives(self, path: str, key: str) -> bool:
        here = [entries for glob, entries in self.allow.items() if matches(path, [glob])]
        return any(e in ("*", key) or key.startswith(f"{e}.") for entries in here for e in entries)

    def violation(self, path: str, line: int, col: int, detail: str) -> Violation:
        return Violation(path, line, col, self.id, f"{detail}: {self.why}")

    def at(self, module: Module, node: ast.AST, detail: str) -> Violation:
        """1-based; for ``x.attr`` the position of ``attr`` itself."""
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset:
            line, col = node.end_lineno, node.end_col_offset - len(node.attr) + 1
        return self.violation(module.path, line, col, detail)

    def stale(self, entry: str, detail: str, listed_in: str = "") -> Violation:
        """A violation at the line that lists ``entry`` (in this rule's own file by default)."""
        source = Path(listed_in or self.defined_in)
        lines = source.read_text().splitlines()
        line = next((n for n, text in enumerate(lines, 1) if f'"{entry}"' in text), 1)
        path = source.relative_to(REPOSITORY).as_posix()
        return Violation(path, line, 1, self.id, f"{detail}: a stale exception hides nothing")


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``**/`` spans any number of directories (none included); ``*`` stays in one segment."""
    wild = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*"}
    parts = re.split(r"(\*\*/|\*\*|\*)", pattern)
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts) + r"\Z")


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(_glob(pattern).match(path) for pattern in patterns)


class Tree:
    def __init__(self, parsed: Parsed, rules: Sequence[Rule]) -> None:
        self.paths, self.rules = frozenset(parsed), rules
        self.modules = [module for module in parsed.values() if isinstance(module, Module)]
        self.unparsed = {path: e for path, e in parsed.items() if not isinstance(e, Module)}
        self.is_project = "manage.py" in self.paths  # not a throwaway tree of samples
        self.module_names = {module.name for module in self.modules}
        self.classes: dict[str, set[str]] = {}  # qualified class -> what its bases may be
        for m in self.modules:
            for node in (node for node in m.tree.body if isinstance(node, ast.ClassDef)):
                bases = (m.values(base, m.tree) for base in node.bases)
                self.classes[f"{m.name}.{node.name}"] = set().union(*bases)

    def subclasses(self, root: str) -> set[str]:
        found = {root}
        while more := {cls for cls, bases in self.classes.items() if bases & found} - found:
            found |= more
        return found


def parse(files: Mapping[str, str | bytes]) -> Parsed:
    parsed: Parsed = {}
    for path, source in files.items():
        try:
            parsed[path] = Module(path, ast.parse(source, filename=path))
        except (SyntaxError, ValueError) as error:  # ValueError: NUL bytes
            parsed[path] = error
    return parsed


def scan_parsed(parsed: Parsed, rules: Sequence[Rule]) -> list[Violation]:
    tree, violations = Tree(parsed, rules), []
    for rule in rules:
        for module in (module for module in tree.modules if matches(module.path, rule.scope)):
            for node, detail, key in rule.check(module, tree):
                if not rule.waives(module.path, key):
                    violations.append(rule.at(module, node, detail))
        violations.extend(rule.check_tree(tree))
    return sorted(set(violations))


def python_files(root: Path) -> Iterator[Path]:
    """The project's own .py files: no virtualenv, hidden directory, test or build output."""
    for directory, subdirectories, filenames in os.walk(root):
        here = Path(directory)
        venvs = {name for name in subdirectories if (here / name / "pyvenv.cfg").exists()}
        kept = set(subdirectories) - SKIP_DIRS - venvs
        subdirectories[:] = sorted(n for n in kept if n[0] != "." and "egg-info" not in n)
        yield from (here / n for n in sorted(filenames) if n.endswith(".py") and n != "conftest.py")


def render(violations: Sequence[Violation], output_format: str = "text") -> str:
    """The report, without a trailing newline."""
    if output_format == "json":
        return json.dumps([violation._asdict() for violation in violations], indent=2)
    return "\n".join(violation.as_text() for violation in violations) or OK_MESSAGE
