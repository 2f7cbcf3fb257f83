"""The engine and the rules as data: what every rule must declare, how files become violations."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from scripts.execution_scanner import RULES, Violation, matches, render, scan_sources

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scripts" / "execution_scanner"


def test_every_rule_is_data_with_a_reason_in_its_own_module() -> None:
    ids = [rule.id for rule in RULES]
    assert ids == sorted(set(ids))
    for rule in RULES:
        assert re.fullmatch(r"EXE\d{3}", rule.id)
        assert rule.why
        assert "\n" not in rule.why
        assert Path(rule.defined_in).name.startswith(rule.id.lower() + "_")


def test_every_rule_module_fits_on_one_screen() -> None:
    for module in sorted((PACKAGE / "rules").glob("exe*.py")):
        assert len(module.read_text().splitlines()) <= 110, module.name  # 110 x 100 columns


def test_the_package_imports_the_standard_library_only() -> None:
    """So the script runs before Django is configured, with nothing installed."""
    for path in [*PACKAGE.rglob("*.py"), ROOT / "scripts" / "scan_execution_violations.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] in sys.stdlib_module_names, (path.name, name)


def test_the_scanner_and_its_command_pass_their_own_rules() -> None:
    own = [*PACKAGE.rglob("*.py"), ROOT / "scripts" / "scan_execution_violations.py"]
    own.append(ROOT / "execution" / "management" / "commands" / "scan_execution.py")
    files = {path.relative_to(ROOT).as_posix(): path.read_text() for path in own}
    assert [v.as_text() for v in scan_sources(files)] == []


def test_a_syntax_error_is_reported_and_the_other_files_still_scanned() -> None:
    files = {
        "execution/broken.py": "def broken(:\n",
        "execution/nul.py": b"x = 1\x00\n",
        "execution/services/job.py": "def execute(plugin):\n    return plugin.run({})\n",
    }
    found = [(v.path, v.rule) for v in scan_sources(files)]
    assert found == [
        ("execution/broken.py", "EXE000"),
        ("execution/nul.py", "EXE000"),
        ("execution/services/job.py", "EXE001"),
    ]


def test_a_tree_without_an_execution_package_needs_no_tool_runner() -> None:
    assert scan_sources({"execution/helpers.py": "VALUE = 1\n"}) == []
    found = scan_sources({"execution/__init__.py": ""})
    assert [(v.path, v.line, v.col, v.rule) for v in found] == [
        ("execution/__init__.py", 1, 1, "EXE003")
    ]


def test_violations_render_as_sorted_lines_and_report_the_column_of_run() -> None:
    files = {
        "execution/b.py": "def f(p):\n    return p.run()\n",
        "execution/a.py": "x = 1\n\n\ndef f(plugin):\n    return plugin.run()\n",
    }
    lines = render(scan_sources(files)).splitlines()
    assert [line.split(" ")[0] for line in lines] == ["execution/a.py:5:19", "execution/b.py:2:14"]
    assert all(" EXE001 " in line for line in lines)
    assert render([]) == "Execution scanner OK"
    assert render([], "json") == "[]"


def test_violation_serialises_every_field() -> None:
    violation = Violation("a.py", 3, 7, "EXE001", "why")
    assert violation.as_text() == "a.py:3:7 EXE001 why"
    assert violation._asdict() == {
        "path": "a.py",
        "line": 3,
        "col": 7,
        "rule": "EXE001",
        "message": "why",
    }


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("views.py", "**/views.py", True),
        ("execution/api/views.py", "**/views.py", True),
        ("execution/reviews.py", "**/views.py", False),
        ("execution/api/v1/jobs.py", "**/api/**", True),
        ("execution/apis.py", "**/api/**", False),
        ("execution/tool_runner.py", "execution/*.py", True),
        ("execution/services/job.py", "execution/*.py", False),
        ("execution/services/job.py", "execution/**", True),
        ("execution/tool_runner/child.py", "execution/tool_runner/child.py", True),
        ("execution/tool_runner.py", "execution/tool_runner/__init__.py", False),
    ],
)
def test_allow_list_globs(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_a_message_says_what_is_wrong_then_why_the_rule_exists() -> None:
    source = "def f(call):\n    try:\n        call()\n    except Exception:\n        pass\n"
    [violation] = scan_sources({"execution/services/job.py": source})
    assert violation.message == (
        "`except Exception` swallows the failure (the handler neither raises nor calls anything:"
        " no log, no envelope): execution failures are re-raised or converted, never dropped:"
        " clients and metrics see them"
    )
