"""The scanner as CI and operators run it: a script in a subprocess, on throwaway trees.

A subprocess (not ``main()`` in-process) proves the script runs before Django is configured, from
any working directory, whatever the environment says.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.execution_scanner import OK_MESSAGE, main

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "scan_execution_violations.py"
LINE = re.compile(r"^(?P<path>[\w./-]+):(?P<line>\d+):(?P<col>\d+) (?P<rule>EXE\d{3}) \S.*$")

CLEAN = {
    "execution/services/plugin_execution.py": (
        "from execution.tool_runner import ToolRunner\n\n\n"
        "def execute(plugin, payload):\n"
        "    return ToolRunner().run(plugin, payload)\n"
    ),
    "plugins/builtin/echo.py": "def version():\n    return 1\n",
}
PLUGIN_RUN = "def execute(plugin, payload):\n    return plugin.run(payload)\n"
DIRTY = {
    **CLEAN,
    "execution/views.py": "from execution.tool_runner import ToolRunner\n",
    "execution/services/job_execution.py": PLUGIN_RUN,
    "registry/services.py": 'def done(plugin):\n    plugin.state = "SUCCESS"\n',
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def run_scanner(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The script as CI runs it, but blind to the environment (``-E -s``) and to site-packages
    (``-S``: no Django). Not ``-I``, which would also drop the script's own directory."""
    command = [sys.executable, "-E", "-s", "-S", str(SCRIPT), *args]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


def test_clean_tree_says_ok_and_exits_0(tmp_path: Path) -> None:
    result = run_scanner("--path", str(write_tree(tmp_path, CLEAN)))
    assert (result.returncode, result.stdout) == (0, f"{OK_MESSAGE}\n"), result.stderr


def test_dirty_tree_lists_sorted_violations_and_exits_1(tmp_path: Path) -> None:
    result = run_scanner("--path", str(write_tree(tmp_path, DIRTY)))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["path"], m["line"], m["rule"]) for m in parsed if m] == [
        ("execution/services/job_execution.py", "2", "EXE001"),
        ("execution/views.py", "1", "EXE002"),
        ("registry/services.py", "2", "EXE004"),
    ]
    assert lines == sorted(lines)


def test_json_format(tmp_path: Path) -> None:
    dirty = run_scanner("--path", str(write_tree(tmp_path / "dirty", DIRTY)), "--format", "json")
    assert dirty.returncode == 1, dirty.stderr
    report = json.loads(dirty.stdout)
    assert [item["rule"] for item in report] == ["EXE001", "EXE002", "EXE004"]
    assert set(report[0]) == {"path", "line", "col", "rule", "message"}
    assert report[0]["path"] == "execution/services/job_execution.py"
    assert (report[0]["line"], report[0]["col"]) == (2, 19)

    clean = run_scanner("--path", str(write_tree(tmp_path / "clean", CLEAN)), "--format", "json")
    assert (clean.returncode, json.loads(clean.stdout)) == (0, [])


def test_skips_virtualenvs_build_output_migrations_and_tests(tmp_path: Path) -> None:
    skipped = [
        ".venv/lib/site.py",
        "venv/lib/site.py",
        "custom-env/lib/site.py",  # a virtualenv by its pyvenv.cfg, whatever its name
        ".git/hooks/hook.py",
        "execution/migrations/0001_initial.py",
        "build/lib/execution/services/job.py",
        "dist/job.py",
        "node_modules/pkg/job.py",
        "lib/site-packages/job.py",
        "execution/__pycache__/job.py",
        "tests/test_tool_runner.py",
        "execution/tests/test_jobs.py",
        "conftest.py",
        "execution_server.egg-info/job.py",
    ]
    write_tree(tmp_path, {**CLEAN, **dict.fromkeys(skipped, PLUGIN_RUN)})
    (tmp_path / "custom-env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    result = run_scanner("--path", str(tmp_path))
    assert (result.returncode, result.stdout) == (0, f"{OK_MESSAGE}\n"), result.stdout


def test_syntax_error_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    write_tree(tmp_path, {**CLEAN, "execution/broken.py": "def broken(:\n    pass\n"})
    result = run_scanner("--path", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith("execution/broken.py:1:"), result.stdout
    assert " EXE000 " in result.stdout
    assert "Traceback" not in result.stderr


def test_an_execution_package_without_a_tool_runner_fails(tmp_path: Path) -> None:
    write_tree(tmp_path, {**CLEAN, "execution/__init__.py": ""})
    result = run_scanner("--path", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith("execution/__init__.py:1:1 EXE003 no class ToolRunner")


def test_default_path_is_the_repository_root_whatever_the_cwd(tmp_path: Path) -> None:
    default = run_scanner(cwd=tmp_path)
    explicit = run_scanner("--path", str(ROOT))
    assert default.returncode in (0, 1), default.stderr
    assert (default.returncode, default.stdout) == (explicit.returncode, explicit.stdout)


def test_a_path_that_is_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run_scanner("--path", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_main_is_importable_and_returns_the_exit_code(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["--path", str(write_tree(tmp_path / "clean", CLEAN))], stdout=out) == 0
    assert out.getvalue() == f"{OK_MESSAGE}\n"
    out = io.StringIO()
    assert main(["--path", str(write_tree(tmp_path / "dirty", DIRTY))], stdout=out) == 1
    assert len(out.getvalue().splitlines()) == 3


def test_this_repository_passes() -> None:
    """The gate itself: the project as committed keeps every invariant."""
    result = run_scanner("--path", str(ROOT))
    assert (result.returncode, result.stdout) == (0, f"{OK_MESSAGE}\n"), result.stdout


def _django_configured() -> bool:
    if "django" not in sys.modules or not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return False
    from django.apps import apps

    return apps.ready


@pytest.mark.skipif(not _django_configured(), reason="needs pytest-django and the settings")
def test_manage_py_command_prints_and_exits_like_the_script(tmp_path: Path) -> None:
    from django.core.management import call_command

    for files, fmt, code in [(DIRTY, "text", 1), (DIRTY, "json", 1), (CLEAN, "text", 0)]:
        root = write_tree(tmp_path / f"{fmt}{code}", files)
        script = run_scanner("--path", str(root), "--format", fmt)
        out = io.StringIO()
        if code:
            with pytest.raises(SystemExit) as exit_info:
                call_command("scan_execution", "--path", str(root), "--format", fmt, stdout=out)
            assert exit_info.value.code == code
        else:
            call_command("scan_execution", "--path", str(root), "--format", fmt, stdout=out)
        assert (out.getvalue(), code) == (script.stdout, script.returncode)
