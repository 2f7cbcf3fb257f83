from __future__ import annotations

import pytest

from execution.tool_runner import ToolRunner
from execution.validation import ExecutionRequest
from registry.models import PluginRegistry, PluginState
from tests import images
from tests.helpers import plugin_counts, plugin_row

pytestmark = pytest.mark.usefixtures("synced_registry")


def run(plugin_name: str, **request: object):
    image = request.pop("image", images.small_png())
    mime_type = request.pop("mime_type", "image/png")
    return ToolRunner().run(
        plugin=plugin_name,
        request=ExecutionRequest(plugin=plugin_name, image=image, mime_type=mime_type, **request),
        job_id="0b9a3f5e-0000-4000-8000-000000000001",
    )


def test_success_hands_the_plugin_decoded_bytes_and_counts_it() -> None:
    outcome = run("test-echo", options={"level": 2})

    assert outcome.succeeded
    assert outcome.result == {
        "size": len(images.small_png()),
        "mime_type": "image/png",
        "options": {"level": 2},
        "image_is_bytes": True,
    }
    assert outcome.error is None
    assert outcome.image_size == len(images.small_png())
    plugin = plugin_row("test-echo")
    assert (plugin.success_count, plugin.error_count) == (1, 0)
    assert plugin.state == PluginState.INITIALIZED
    assert plugin.last_execution_time_ms == pytest.approx(outcome.elapsed_ms)
    assert plugin.avg_execution_time_ms == pytest.approx(outcome.elapsed_ms)
    assert plugin.last_used is not None


def test_a_raising_plugin_becomes_a_plugin_error_envelope_and_fails_the_plugin() -> None:
    outcome = run("test-raises")

    assert not outcome.succeeded
    error = outcome.error["error"]
    assert error["type"] == "PluginError"
    assert error["code"] == "PLUGIN_FAILED"
    assert error["message"] == "The plugin failed: model weights are corrupt"
    assert error["details"] == {"exception_type": "RuntimeError"}
    assert error["plugin"] == "test-raises"
    assert error["job_id"] == "0b9a3f5e-0000-4000-8000-000000000001"
    assert error["timestamp"].endswith("Z")
    assert "RuntimeError: model weights are corrupt" in outcome.error["_internal"]["traceback"]
    plugin = plugin_row("test-raises")
    assert (plugin.success_count, plugin.error_count) == (0, 1)
    assert plugin.state == PluginState.FAILED
    assert plugin.reason == "last execution failed: PLUGIN_FAILED"


@pytest.mark.parametrize(
    ("plugin_name", "code"),
    [
        ("test-returns-list", "OUTPUT_NOT_A_DICT"),
        ("test-returns-numpy", "OUTPUT_NOT_JSON"),
        ("test-breaks-output-schema", "OUTPUT_SCHEMA_MISMATCH"),
    ],
)
def test_invalid_output_is_a_validation_error(plugin_name: str, code: str) -> None:
    outcome = run(plugin_name)

    assert outcome.result is None
    assert outcome.error["error"]["type"] == "ValidationError"
    assert outcome.error["error"]["code"] == code
    plugin = plugin_row(plugin_name)
    assert (plugin.success_count, plugin.error_count, plugin.state) == (0, 1, PluginState.FAILED)


def test_output_schema_errors_say_where() -> None:
    outcome = run("test-breaks-output-schema")

    assert outcome.error["error"]["details"] == {
        "errors": [{"path": "count", "message": "'three' is not of type 'integer'"}]
    }


def test_rejected_input_counts_an_error_but_leaves_the_state() -> None:
    run("test-echo")  # INITIALIZED
    outcome = run("test-echo", image="not base64!")

    assert outcome.error["error"]["code"] == "IMAGE_NOT_BASE64"
    assert plugin_counts("test-echo") == (1, 1)
    assert plugin_row("test-echo").state == PluginState.INITIALIZED


def test_image_the_plugin_cannot_decode_is_an_input_error() -> None:
    truncated_png = images.small_png()[:20]
    outcome = run("image-metadata", image=truncated_png)

    assert outcome.error["error"]["type"] == "ValidationError"
    assert outcome.error["error"]["code"] == "IMAGE_UNREADABLE"
    # The plugin did its job (it refused garbage): an error for the count, not a FAILED state.
    plugin = plugin_row("image-metadata")
    assert (plugin.success_count, plugin.error_count) == (0, 1)
    assert (plugin.state, plugin.reason) == (
        PluginState.INITIALIZED,
        "last execution refused its input: IMAGE_UNREADABLE",
    )


def test_an_unavailable_row_is_never_overwritten_by_a_run() -> None:
    PluginRegistry.objects.filter(name="test-echo").update(
        state=PluginState.UNAVAILABLE, reason="disabled by an operator (ops)"
    )
    run("test-echo")

    plugin = plugin_row("test-echo")
    assert plugin.state == PluginState.UNAVAILABLE
    assert plugin.reason == "disabled by an operator (ops)"
    assert plugin.success_count == 1


def test_an_option_the_plugin_cannot_serve_is_an_options_error() -> None:
    outcome = run("ocr", options={"lang": "xxx"})

    assert outcome.error["error"]["code"] == "OPTIONS_INVALID"
    assert "not installed: xxx" in outcome.error["error"]["message"]
    assert plugin_row("ocr").state == PluginState.INITIALIZED


def test_an_image_over_the_pixel_limit_is_refused_before_the_plugin_runs(settings) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_IMAGE_PIXELS": 8 * 6 - 1}

    outcome = run("test-echo")

    assert outcome.error["error"]["code"] == "IMAGE_TOO_LARGE"
    assert outcome.error["error"]["details"] == {"width": 8, "height": 6, "max_pixels": 47}
    assert plugin_row("test-echo").state == PluginState.LOADED


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
def test_output_no_database_can_store_is_refused(text: str) -> None:
    from execution import exceptions
    from execution.validation import validate_output

    with pytest.raises(exceptions.OutputNotJson):
        validate_output({"text": text}, None)
