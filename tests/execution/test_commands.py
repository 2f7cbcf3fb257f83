from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from execution.models import Job, JobStatus
from registry.models import PluginRegistry
from tests import images
from tests.helpers import plugin_counts

pytestmark = pytest.mark.django_db


def run(*args: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_sync_plugins_registers_every_discovered_plugin() -> None:
    out, _ = run("sync_plugins")

    assert "ready        face-detection" in out
    assert {"image-metadata", "qr-code", "face-detection", "ocr"} <= set(
        PluginRegistry.objects.values_list("name", flat=True)
    )


def test_analyze_runs_many_files_through_the_governed_path(tmp_path: Path) -> None:
    run("sync_plugins")
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(images.astronaut_jpeg())
    code = tmp_path / "code.png"
    code.write_bytes(images.qr_code_png("hello"))

    out, err = run("analyze", "face-detection", str(photo), str(code))

    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == [str(photo), str(code)]
    assert [line["status"] for line in lines] == ["SUCCESS", "SUCCESS"]
    assert lines[0]["result"]["count"] == 1
    assert lines[1]["result"]["count"] == 0
    assert "2/2" in err  # the progress bar
    assert Job.objects.filter(status=JobStatus.SUCCESS).count() == 2
    assert plugin_counts("face-detection") == (2, 0)


def test_analyze_reports_failures_per_file_and_exits_non_zero(tmp_path: Path) -> None:
    run("sync_plugins")
    text = tmp_path / "notes.png"
    text.write_bytes(b"not really a png")
    missing = tmp_path / "missing.png"
    out = io.StringIO()

    with pytest.raises(CommandError, match="2 of 2 file"):
        call_command("analyze", "image-metadata", str(text), str(missing), stdout=out)

    unreadable, unopened = (json.loads(line) for line in out.getvalue().splitlines())
    # The first became a FAILED job with the envelope's error; the second never became a job.
    job = Job.objects.get(pk=unreadable["job_id"])
    assert unreadable == {
        "file": str(text),
        "job_id": str(job.pk),
        "status": "FAILED",
        "error": job.error["error"],
    }
    assert (job.status, unreadable["error"]["code"]) == (JobStatus.FAILED, "IMAGE_UNREADABLE")
    assert unopened == {
        "file": str(missing),
        "error": f"[Errno 2] No such file or directory: '{missing}'",
    }
    assert Job.objects.count() == 1


def test_analyze_refuses_options_that_are_not_json(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--options is not valid JSON"):
        run("analyze", "ocr", str(tmp_path / "x.png"), "--options", "{oops")


def test_plugins_lists_state_and_counts() -> None:
    run("sync_plugins")
    PluginRegistry.objects.filter(name="qr-code").update(success_count=7, plugin_fault_count=2)

    out, _ = run("plugins")

    qr_line = next(line for line in out.splitlines() if line.startswith("qr-code"))
    assert qr_line.split()[:4] == ["qr-code", "LOADED", "7", "2"]


def test_bootstrap_local_creates_one_admin_and_token_and_shows_them_again(
    settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path

    first, _ = run("bootstrap_local")
    second, _ = run("bootstrap_local")

    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    token = Token.objects.get(user=user).key
    saved = json.loads((tmp_path / "local-admin.json").read_text())
    assert user.check_password(saved["password"])
    for output in (first, second):
        assert f"password {saved['password']}" in output
        assert f"API token:  {token}" in output
    assert (tmp_path / "local-admin.json").stat().st_mode & 0o077 == 0
