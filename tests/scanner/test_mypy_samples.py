"""The forms the scanner leaves to mypy: each sample under samples/mypy/ is annotated as project
code must be, and the project's mypy (its pyproject settings, as ``make types`` runs it) reports an
error on every line marked ``# expect: mypy`` and on no other line.

The scanner takes a declaration at its word (a parameter annotated ``ToolRunner`` is a ToolRunner)
because mypy holds every binding to it; these samples prove that premise. mypy runs once for all
of them, which takes a few seconds with its cache and up to a minute without.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "scanner" / "samples" / "mypy").glob("*.py"))
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: ")

pytestmark = pytest.mark.mypy


@pytest.fixture(scope="module")
def reported() -> dict[str, set[int]]:
    """The lines mypy reports an error on, by sample file name."""
    files = [str(sample.relative_to(ROOT)) for sample in SAMPLES]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", *files],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    errors: dict[str, set[int]] = {sample.name: set() for sample in SAMPLES}
    for match in filter(None, map(ERROR.match, result.stdout.splitlines())):
        path = Path(match["path"])
        assert path.parent == Path(files[0]).parent, f"mypy reports outside the samples: {match[0]}"
        errors[path.name].add(int(match["line"]))
    return errors


def test_the_samples_are_there() -> None:
    assert SAMPLES
    assert all(sample.name.startswith("bad_") for sample in SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_mypy_rejects_exactly_the_marked_lines(sample: Path, reported: dict[str, set[int]]) -> None:
    lines = sample.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if line.endswith("# expect: mypy")}
    assert marked, f"{sample.name} marks no line with '# expect: mypy'"
    assert reported[sample.name] == marked
