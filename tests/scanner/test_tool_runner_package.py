"""The ToolRunner is becoming a package: ``execution/tool_runner/__init__.py`` runs the inline
plugins and has the metered ``finally``, ``child.py`` is the worker process's entry point, which
calls ``plugin.run`` too. The move must only mean changing EXE001's PLUGIN_HOSTS to those two."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scripts.execution_scanner import RULES
from scripts.execution_scanner.engine import parse, python_files, scan_parsed
from scripts.execution_scanner.rules import exe001_plugin_run

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_HOSTS = ("execution/tool_runner/__init__.py", "execution/tool_runner/child.py")
CHILD = '''"""The worker's entry point: runs what the parent's ToolRunner sends, under its limits."""


def serve(plugins, connection):
    while True:
        name, payload = connection.recv()
        connection.send(plugins[name].run(payload))
'''


def project_as_a_package() -> dict[str, str]:
    files = {p.relative_to(ROOT).as_posix(): p.read_text() for p in python_files(ROOT)}
    files["execution/tool_runner/__init__.py"] = files.pop("execution/tool_runner.py")
    files["execution/tool_runner/child.py"] = CHILD
    return files


def test_with_todays_hosts_the_package_is_flagged_and_the_old_host_is_stale() -> None:
    found = {(v.path, v.rule) for v in scan_parsed(parse(project_as_a_package()), RULES)}
    assert ("execution/tool_runner/__init__.py", "EXE001") in found
    assert ("execution/tool_runner/child.py", "EXE001") in found
    assert ("scripts/execution_scanner/rules/exe001_plugin_run.py", "EXE008") in found


def test_after_the_move_only_plugin_hosts_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exe001_plugin_run, "PLUGIN_HOSTS", PACKAGE_HOSTS)
    rules = [dataclasses.replace(r, allow=PACKAGE_HOSTS) if r.id == "EXE001" else r for r in RULES]
    assert scan_parsed(parse(project_as_a_package()), rules) == []
