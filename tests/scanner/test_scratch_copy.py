"""The scanner on the real project: every bad sample, pasted into a real service, view and task of
a scratch copy, is reported there (rule, file, line) by the script and by ``manage.py
scan_execution``, both exiting 1; taking it out again leaves the copy clean.

Samples whose verdict depends on other files of a pretend tree (``# with:``) are about the tree,
not about a line one could paste, and are left to test_samples.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.execution_scanner import OK_MESSAGE, RULES, scan_sources
from scripts.execution_scanner.engine import parse, python_files, scan_parsed
from tests.scanner.samples import Sample, all_samples

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("execution/services/job_execution.py", "execution/api/views.py", "execution/tasks.py")
PASTABLE = [sample for sample in all_samples() if sample.bad and not sample.needs_a_tree]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for path in python_files(ROOT):
        copy = root / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return root


def paste(original: str, samples: list[Sample]) -> tuple[str, list[int]]:
    """``original`` with each sample appended; and the line before each sample's first line."""
    source, offsets = original.rstrip("\n"), []
    for sample in samples:
        source += "\n\n\n"
        offsets.append(source.count("\n"))
        source += sample.text.rstrip("\n")
    return source + "\n", offsets


def scanners(root: Path) -> list[subprocess.CompletedProcess[str]]:
    commands = [
        [sys.executable, str(ROOT / "scripts" / "scan_execution_violations.py")],
        [sys.executable, str(ROOT / "manage.py"), "scan_execution"],
    ]
    return [
        subprocess.run(
            [*command, "--path", str(root)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        for command in commands
    ]


def test_every_bad_sample_pasted_into_a_service_a_view_and_a_task_is_reported_there(
    scratch: Path,
) -> None:
    files = {
        path.relative_to(scratch).as_posix(): path.read_text() for path in python_files(scratch)
    }
    parsed = parse(files)
    assert scan_parsed(parsed, RULES) == []
    for sample in PASTABLE:
        caught = False
        for target in TARGETS:
            source, [offset] = paste(files[target], [sample])
            found = scan_parsed({**parsed, **parse({target: source})}, RULES)
            alone = scan_sources({target: sample.text})
            # Exactly what the sample raises on its own at that path: the project hides nothing.
            assert {(v.path, v.line, v.rule) for v in found} == {
                (target, v.line + offset, v.rule) for v in alone
            }, (str(sample), target)
            caught = caught or bool(found)
        # Some forms are legitimate in some of the three (a service may import the ToolRunner).
        assert caught, f"{sample} is reported in none of {TARGETS}"


@pytest.mark.parametrize("target", TARGETS)
def test_both_scanners_exit_1_naming_rule_file_and_line_and_ok_once_reverted(
    scratch: Path, target: str
) -> None:
    """All samples at once (the one that does not parse on its own), to keep it to a few runs."""
    original = (scratch / target).read_text()
    parses = [sample for sample in PASTABLE if sample.rule != "EXE000"]
    try:
        for samples in (parses, [sample for sample in PASTABLE if sample.rule == "EXE000"]):
            source, offsets = paste(original, samples)
            (scratch / target).write_text(source)
            expected = {(v.path, v.line, v.rule) for v in scan_sources({target: source})}
            for sample, offset in zip(samples, offsets, strict=True):
                alone = scan_sources({target: sample.text})
                assert {(target, v.line + offset, v.rule) for v in alone} <= expected, str(sample)
            for result in scanners(scratch):
                assert result.returncode == 1, result.stderr
                named = [line.split(" ")[:2] for line in result.stdout.splitlines()]
                reported = {(*place.rsplit(":", 2)[:2], rule) for place, rule in named}
                assert reported == {(path, str(line), rule) for path, line, rule in expected}
    finally:
        (scratch / target).write_text(original)
    for result in scanners(scratch):
        assert (result.returncode, result.stdout) == (0, f"{OK_MESSAGE}\n"), result.stdout
