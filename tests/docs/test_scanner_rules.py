"""The governance document's table of scanner rules lists exactly the rules the scanner has."""

from __future__ import annotations

import re

from tests.docs.markdown import REPO_ROOT, document

GOVERNANCE = "docs/design/execution-governance.md"
RULE_ID = re.compile(r"""["'](EXE\d{3})["']""")
ROW = re.compile(r"^\| `(EXE\d{3})` \|", re.MULTILINE)


def scanner_rule_ids() -> set[str]:
    """Rule ids as the scanner's source declares them (quoted), wherever under scripts/ it keeps
    them; its good and bad sample files are code to scan, not the scanner, and do not count."""
    return {
        rule
        for path in (REPO_ROOT / "scripts").rglob("*.py")
        if "samples" not in path.parts
        for rule in RULE_ID.findall(path.read_text())
    }


def test_the_scanner_declares_rules() -> None:
    assert {"EXE000", "EXE001"} <= scanner_rule_ids()


def test_the_governance_table_lists_exactly_the_scanners_rules() -> None:
    listed = ROW.findall(document(GOVERNANCE).text)
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(scanner_rule_ids())
