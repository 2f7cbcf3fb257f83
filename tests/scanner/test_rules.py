"""Every rule is tested by its own samples, so a rule and the proof that it works travel together.

Each bad sample must trip exactly its rule, once, at its line; each good sample must trip no rule
at all (so the samples also guard the other rules against false positives).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.scan_execution_violations import (
    RULES,
    Rule,
    Sample,
    Violation,
    matches,
    render,
    scan_sources,
)

ROOT = Path(__file__).resolve().parents[2]

GOOD = [
    pytest.param(rule, sample, id=f"{rule.id}-good-{index}")
    for rule in RULES
    for index, sample in enumerate(rule.good)
]
BAD = [
    pytest.param(rule, sample, id=f"{rule.id}-bad-{index}")
    for rule in RULES
    for index, sample in enumerate(rule.bad)
]


@pytest.mark.parametrize(("rule", "sample"), GOOD)
def test_good_sample_trips_nothing(rule: Rule, sample: Sample) -> None:
    assert [v.as_text() for v in scan_sources(sample.files())] == []


@pytest.mark.parametrize(("rule", "sample"), BAD)
def test_bad_sample_trips_its_rule_once_at_its_line(rule: Rule, sample: Sample) -> None:
    found = [(v.path, v.line, v.rule) for v in scan_sources(sample.files())]
    assert found == [(sample.reported_path or sample.path, sample.line, rule.id)]


def test_every_rule_is_data_with_a_reason_and_samples() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert re.fullmatch(r"EXE\d{3}", rule.id)
        assert rule.message
        assert "\n" not in rule.message
        assert rule.good, f"{rule.id} has no good sample"
        assert rule.bad, f"{rule.id} has no bad sample"
        assert all(sample.line > 0 for sample in rule.bad)


def test_the_scanner_and_its_command_pass_their_own_rules() -> None:
    """The samples are strings, never code: the scanner must not trip on itself."""
    own = [
        "scripts/__init__.py",
        "scripts/scan_execution_violations.py",
        "execution/management/commands/scan_execution.py",
    ]
    files = {path: (ROOT / path).read_text() for path in own}
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
        ("execution/tool_runner/__init__.py", 1, 1, "EXE003")
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
    assert violation.as_dict() == {
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
    ],
)
def test_allow_list_globs(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected
