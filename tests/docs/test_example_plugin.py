"""The onboarding guide's worked example, done for real: the example plugin package is built and
installed with pip (into a directory on the server's PYTHONPATH, so the project's virtualenv is
left alone), found through its entry point, listed by GET /v1/plugins and run through the API.

It is installed into a deployment that is already running, as an operator would, so the test
also holds the guide to its order: a process started before the install cannot run the plugin
and says what to do; a restart and a sync make it runnable."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

from tests.docs import live
from tests.docs.markdown import REPO_ROOT, document

EXAMPLE = REPO_ROOT / "docs" / "examples" / "colour-count-plugin"
QR_CODE = base64.b64encode((REPO_ROOT / "samples" / "qr-code.png").read_bytes()).decode()


def _pip_install(target: Path, scratch: Path) -> None:
    # From a copy: a build writes its egg-info beside the sources. No index, no isolation: the
    # virtualenv's setuptools builds it, offline.
    source = shutil.copytree(EXAMPLE, scratch / "colour-count-plugin")
    offline = ["--no-deps", "--no-index", "--no-build-isolation"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            *offline,
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _colour_count(url: str, token: str) -> tuple[int, dict]:
    body = {"plugin": "colour-count", "image": QR_CODE, "mime_type": "image/png"}
    return live.call(url, token, "POST", "/v1/analyze-execution", body | {"options": {"top": 2}})


def test_a_plugin_installed_into_a_running_deployment_runs_after_restart_and_sync(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = live.deployment_env(var_dir=tmp_path / "var", PYTHONPATH=str(site))
    live.prepare(env)

    with live.serving(env) as url:
        token = live.api_token(env, url)
        # The web process discovers its plugins at its first execution: this one, before the
        # install.
        metadata = {"plugin": "image-metadata", "image": QR_CODE, "mime_type": "image/png"}
        assert live.call(url, token, "POST", "/v1/analyze-execution", metadata)[0] == 200

        _pip_install(site, tmp_path)
        assert "colour-count" in live.manage(env, "sync_plugins")
        assert live.call(url, token, "GET", "/v1/plugins/colour-count")[1]["state"] == "LOADED"

        # Synced, but not restarted: the running process cannot load it, and says what to do.
        status, body = _colour_count(url, token)
        assert (status, body["error"]["code"]) == (400, "PLUGIN_UNAVAILABLE")
        reason = body["error"]["details"]["reason"]
        assert "restart the web and worker processes" in reason
        assert "manage.py sync_plugins" in reason
        row = live.call(url, token, "GET", "/v1/plugins/colour-count")[1]
        assert (row["state"], row["reason"]) == ("UNAVAILABLE", reason)

    # What the reason said: restart, then sync.
    with live.serving(env) as url:
        live.manage(env, "sync_plugins")
        row = live.call(url, token, "GET", "/v1/plugins/colour-count")[1]
        assert (row["state"], row["version"]) == ("LOADED", "1.0.0")
        status, body = _colour_count(url, token)
        assert status == 200, body
        # A QR code: black and white, mostly white.
        assert body["result"] == {
            "colours": 2,
            "top": [
                {"rgb": "#ffffff", "pixels": body["result"]["top"][0]["pixels"]},
                {"rgb": "#000000", "pixels": body["result"]["top"][1]["pixels"]},
            ],
        }
        plugins = {
            plugin["name"]: plugin for plugin in live.call(url, token, "GET", "/v1/plugins")[1]
        }
        assert (plugins["colour-count"]["state"], plugins["colour-count"]["success_count"]) == (
            "INITIALIZED",
            1,
        )


def test_the_guide_installs_the_example_that_is_tested() -> None:
    guide = document("docs/execution-onboarding.md").text
    assert "pip install docs/examples/colour-count-plugin" in guide
    assert (
        'colour-count = "colour_count_plugin:ColourCountPlugin"'
        in (EXAMPLE / "pyproject.toml").read_text()
    )
