"""The sample files under samples/<RULE-ID>/: what each one is and what it must raise.

A sample's first line names the path it is scanned as (allow-lists depend on paths):
``# scan-as: execution/services/job_execution.py``. ``# with: <path> [from <file>]`` adds another
file to the pretend tree, read from samples/_tree/ (``<file>`` is relative to it). A bad line
ends with ``# expect: EXE001``; a violation reported in another file (a stale allow-list is
reported in the rule that lists it) is expected with ``# expect: EXE008 at <path>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.docs.markdown import TextFile

SAMPLES = Path(__file__).resolve().parent / "samples"
TREE = SAMPLES / "_tree"
SCAN_AS = re.compile(r"^# scan-as: (\S+)")
WITH = re.compile(r"^# with: (\S+)(?: from (\S+))?$", re.MULTILINE)
EXPECT = re.compile(r"# expect: (EXE\d{3})$")
EXPECT_AT = re.compile(r"^# expect: (EXE\d{3}) at (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Sample(TextFile):
    """A sample file (``path``, ``text``) as the test scans it."""

    rule: str
    scan_as: str
    files: dict[str, str]
    expected: tuple[tuple[str, int, str], ...]  # (path, line, rule); line 0: any line

    @property
    def bad(self) -> bool:
        return self.path.name.startswith("bad_")

    @property
    def needs_a_tree(self) -> bool:
        """Whether it is about a tree (other files, or a file as a whole: a violation on its
        ``# scan-as:`` line) rather than about lines one could paste elsewhere."""
        return len(self.files) > 1 or any(
            path != self.scan_as or line == 1 for path, line, _ in self.expected
        )

    def __str__(self) -> str:
        return f"{self.rule}/{self.path.name}"


def load(file: Path) -> Sample:
    source = file.read_text()
    scan_as = SCAN_AS.match(source)
    assert scan_as, f"{file} does not start with '# scan-as: <path>'"
    files = {m[1]: (TREE / (m[2] or m[1])).read_text() for m in WITH.finditer(source)}
    lines = source.splitlines()
    expected = [
        (scan_as[1], n, m[1]) for n, line in enumerate(lines, 1) if (m := EXPECT.search(line))
    ]
    expected += [(m[2], 0, m[1]) for m in EXPECT_AT.finditer(source)]
    return Sample(
        file,
        source,
        file.parent.name,
        scan_as[1],
        {**files, scan_as[1]: source},
        tuple(sorted(expected)),
    )


def all_samples() -> list[Sample]:
    return [load(file) for file in sorted(SAMPLES.glob("EXE*/*.py"))]
