"""Every sample file is a test: a bad one raises exactly what its lines say, a good one nothing.

Good samples are checked against every rule, so they also guard the other rules against false
positives; the bad samples are the regression suite of every form a rule must catch.
"""

from __future__ import annotations

import pytest

from scripts.execution_scanner import RULES, scan_sources
from tests.scanner.samples import SAMPLES, Sample, all_samples

SAMPLE_FILES = all_samples()


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=str)
def test_sample_raises_exactly_what_it_says(sample: Sample) -> None:
    anywhere = {path for path, line, _ in sample.expected if line == 0}
    found = {
        (v.path, 0 if v.path in anywhere else v.line, v.rule) for v in scan_sources(sample.files)
    }
    assert sorted(found) == list(sample.expected)
    if sample.bad:
        assert sample.expected, f"{sample} is bad but marks no line with '# expect: <rule>'"
        assert {rule for _, _, rule in sample.expected} == {sample.rule}
    else:
        assert not sample.expected


def test_every_rule_has_good_and_bad_samples_and_nothing_else_is_there() -> None:
    kinds = {(sample.rule, sample.bad) for sample in SAMPLE_FILES}
    assert kinds == {(rule.id, bad) for rule in RULES for bad in (False, True)}
    assert all(s.path.name.startswith(("good_", "bad_")) for s in SAMPLE_FILES)
    assert sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()) == sorted(
        [rule.id for rule in RULES] + ["_tree", "mypy"]
    )
