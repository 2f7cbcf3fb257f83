"""The Makefile's promises to a newcomer (README, "Set-up: two commands"): `make run` stops at
once on a port already in use, and a virtualenv whose python is gone is built again.

Each test runs the project's Makefile for real, copied into a directory of its own beside a
stand-in project, so that nothing it builds or removes touches the checkout's own `.venv`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.execution.cluster import start_in_own_session, stop_process_group

REPO_ROOT = Path(__file__).resolve().parents[1]
# An installable project with nothing in it, so that `pip install -e .` is quick.
STAND_IN_PROJECT = """\
[project]
name = "make-stand-in"
version = "0"

[project.optional-dependencies]
test = []

[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = []
"""


def stand_in(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", checkout / "Makefile")
    (checkout / "pyproject.toml").write_text(STAND_IN_PROJECT)
    return checkout


def make(checkout: Path, *arguments: str, timeout: float) -> tuple[int, str]:
    """``make <arguments>`` in ``checkout``: its exit status and output; every process it started
    is stopped, however the test ends."""
    log = checkout.parent / "make.log"
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("MAKEFLAGS", None)
    process = start_in_own_session(["make", "-C", str(checkout), *arguments], env=env, log_path=log)
    try:
        status = process.wait(timeout=timeout)
    finally:
        stop_process_group(process, grace=5)
    return status, log.read_text()


def test_make_run_stops_at_once_on_a_port_in_use(tmp_path: Path) -> None:
    checkout = stand_in(tmp_path)
    # A virtualenv that is up to date, so that `make run` goes straight to its own steps.
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (checkout / ".venv" / ".runtime").touch()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, output = make(checkout, "run", f"PORT={port}", timeout=60)
    assert status != 0
    assert f"make run: port {port} is already in use" in output
    assert "manage.py" not in output  # nothing was set up, nothing served


def test_a_virtualenv_whose_python_is_gone_is_built_again(tmp_path: Path) -> None:
    checkout = stand_in(tmp_path)
    # What an interpreter uninstalled or moved leaves: a dangling link, and stamps that claim the
    # install is done.
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").symlink_to(tmp_path / "uninstalled" / "python")
    (checkout / ".venv" / ".runtime").touch()
    (checkout / ".venv" / ".test").touch()
    status, output = make(checkout, ".venv/.test", timeout=300)
    assert status == 0, output
    assert "-m venv .venv" in output
    assert "pip install --quiet -e ." in output
    assert "pip install --quiet -e '.[test]'" in output
    python = checkout / ".venv" / "bin" / "python"
    shown = subprocess.run(
        [python, "-m", "pip", "show", "make-stand-in"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr  # installed into the new virtualenv
    status, output = make(checkout, ".venv/.test", timeout=60)
    assert status == 0
    assert "is up to date" in output  # and, once built, left alone
