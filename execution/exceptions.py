"""One exception hierarchy for everything the execution layer reports to a client.

Every class declares the envelope ``type`` it belongs to, a stable machine ``code``, the HTTP
status it answers with and a default message. Clients branch on ``code``; messages may change.
"""

from __future__ import annotations

from typing import Any


class ExecutionFailure(Exception):
    """Base of every failure that becomes an error envelope."""

    type: str = "ExecutionError"
    code: str = "EXECUTION_FAILED"
    status_code: int = 400
    default_message: str = "The execution failed."
    # The traceback of a failure that happened in a plugin process, for the job's operators.
    remote_traceback: str = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        plugin: str | None = None,
        job_id: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        self.plugin = plugin
        self.job_id = job_id
        if status_code is not None:
            # The same failure can answer differently by context: an unknown plugin fails an
            # execution (400) but is simply not there for GET /v1/plugins/{name} (404).
            self.status_code = status_code
        super().__init__(self.message)


# --- ValidationError: the input or the output breaks the contract -----------------------


class InputValidationError(ExecutionFailure):
    type = "ValidationError"
    code = "INVALID_INPUT"
    default_message = "The request input is invalid."


class RequestInvalid(InputValidationError):
    code = "REQUEST_INVALID"
    default_message = "The request does not have the expected fields and types."


class ImageMissing(InputValidationError):
    code = "IMAGE_MISSING"
    default_message = "The request has no image."


class ImageEmpty(InputValidationError):
    code = "IMAGE_EMPTY"
    default_message = "The image is empty."


class ImageNotBase64(InputValidationError):
    code = "IMAGE_NOT_BASE64"
    default_message = "The image is not valid base64."


class ImageTooLarge(InputValidationError):
    code = "IMAGE_TOO_LARGE"
    status_code = 413
    default_message = "The image is larger than the configured limit."


class ImageUnreadable(InputValidationError):
    code = "IMAGE_UNREADABLE"
    default_message = "The image bytes cannot be decoded."


class MimeTypeMissing(InputValidationError):
    code = "MIME_TYPE_MISSING"
    default_message = "The request has no mime_type."


class MimeTypeUnsupported(InputValidationError):
    code = "MIME_TYPE_UNSUPPORTED"
    default_message = "The mime_type is not an image type this server accepts."


class MimeTypeMismatch(InputValidationError):
    code = "MIME_TYPE_MISMATCH"
    default_message = "The mime_type does not match the image bytes."


class OptionsInvalid(InputValidationError):
    code = "OPTIONS_INVALID"
    default_message = "The options do not match the plugin's options schema."


class OptionsTooLarge(InputValidationError):
    code = "OPTIONS_TOO_LARGE"
    status_code = 413
    default_message = "The options are larger than the configured limit."


class OutputValidationError(ExecutionFailure):
    type = "ValidationError"
    code = "OUTPUT_INVALID"
    default_message = "The plugin returned an invalid result."


class OutputNotADict(OutputValidationError):
    code = "OUTPUT_NOT_A_DICT"
    default_message = "The plugin did not return a JSON object."


class OutputNotJson(OutputValidationError):
    code = "OUTPUT_NOT_JSON"
    default_message = "The plugin returned values that cannot be represented as JSON."


class OutputSchemaMismatch(OutputValidationError):
    code = "OUTPUT_SCHEMA_MISMATCH"
    default_message = "The plugin's result does not match its output schema."


class OutputTooLarge(OutputValidationError):
    code = "OUTPUT_TOO_LARGE"
    default_message = "The plugin's result is larger than the configured limit."


# --- PluginError: the plugin cannot be found, cannot run, or failed ---------------------


class PluginError(ExecutionFailure):
    type = "PluginError"
    code = "PLUGIN_FAILED"
    default_message = "The plugin failed while analysing the image."


class PluginNotFound(PluginError):
    code = "PLUGIN_NOT_FOUND"
    default_message = "No plugin has this name."


class PluginUnavailable(PluginError):
    code = "PLUGIN_UNAVAILABLE"
    default_message = "The plugin is unavailable."


# What the ToolRunner reports when a plugin misbehaves beyond raising an exception. Each is the
# plugin's fault (400), never the server's: the plugin's process is replaced, the server is not.


class PluginTimeout(PluginError):
    code = "PLUGIN_TIMEOUT"
    default_message = "The plugin ran past its time limit and was stopped."


class PluginCrashed(PluginError):
    code = "PLUGIN_CRASHED"
    default_message = "The plugin's process died while analysing the image."


class ResourceLimit(PluginError):
    code = "RESOURCE_LIMIT"
    default_message = "The plugin went over its memory or CPU limit and was stopped."


class PluginExited(PluginError):
    code = "PLUGIN_EXITED"
    default_message = "The plugin raised SystemExit: a plugin must return, never exit."


class PluginInterrupted(PluginError):
    code = "PLUGIN_INTERRUPTED"
    default_message = "The plugin raised KeyboardInterrupt."


# --- ExecutionError: jobs, the protocol and the infrastructure --------------------------


class ExecutionError(ExecutionFailure):
    type = "ExecutionError"
    code = "EXECUTION_FAILED"


class JobNotFound(ExecutionError):
    code = "JOB_NOT_FOUND"
    status_code = 404
    default_message = "No job has this id."


class JobNotFinished(ExecutionError):
    code = "JOB_NOT_FINISHED"
    status_code = 409
    default_message = "The job has not finished yet."


class JobAlreadyFinished(ExecutionError):
    code = "JOB_ALREADY_FINISHED"
    status_code = 409
    default_message = "The job has already finished."


class JobStateConflict(ExecutionError):
    code = "JOB_STATE_CONFLICT"
    status_code = 409
    default_message = "The job is not in a state that allows this."


class ImageNotKept(ExecutionError):
    code = "IMAGE_NOT_KEPT"
    status_code = 409
    default_message = "The job's image is no longer stored, so the job cannot be re-run."


class RequestRejected(ExecutionError):
    """A refusal at the protocol level (authentication, method, media type, throttling), whose
    code and status come from the framework that refused."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int,
        type: str = "ExecutionError",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details, status_code=status_code)
        self.code, self.type = code, type


class RequestTooLarge(ExecutionError):
    code = "REQUEST_TOO_LARGE"
    status_code = 413
    default_message = "The request body is larger than this server accepts."


class RequestTimeout(ExecutionError):
    code = "REQUEST_TIMEOUT"
    status_code = 408
    default_message = "The request body was not received in time."


class ImageQuotaExceeded(ExecutionError):
    code = "IMAGE_QUOTA_EXCEEDED"
    status_code = 429
    default_message = (
        "Your stored images (jobs waiting to run, failed jobs within their retention) are at "
        "your limit; retry when some have run or expired."
    )


class ImageStorageFull(ExecutionError):
    code = "IMAGE_STORAGE_FULL"
    status_code = 503
    default_message = "The server's store of job images is full; retry later."


class IdempotencyKeyInvalid(ExecutionError):
    type = "ValidationError"
    code = "IDEMPOTENCY_KEY_INVALID"
    default_message = "The Idempotency-Key header must be 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(ExecutionError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status_code = 422
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotentRequestInProgress(ExecutionError):
    code = "IDEMPOTENT_REQUEST_IN_PROGRESS"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry later."


class PageTooDeep(ExecutionError):
    type = "ValidationError"
    code = "PAGE_TOO_DEEP"
    default_message = (
        "Page numbers reach the first jobs of a list only; follow the `next` links (a cursor) "
        "to go further, or narrow the list with its filters."
    )


class WorkerLost(ExecutionError):
    code = "WORKER_LOST"
    default_message = "The worker running this job stopped before the job finished."


class ExecutionTimeout(ExecutionError):
    code = "EXECUTION_TIMEOUT"
    default_message = "The plugin ran longer than the worker's time limit (Q_TIMEOUT)."


class ExecutionInterrupted(ExecutionError):
    code = "EXECUTION_INTERRUPTED"
    status_code = 503
    default_message = "The server stopped this execution (it is shutting down); retry later."


class QueueLost(ExecutionError):
    code = "QUEUE_LOST"
    default_message = "The job was queued but no worker ever took it, even after re-queueing."


class ServiceUnavailable(ExecutionError):
    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    default_message = "A service the server depends on is unavailable; retry later."
    # Sent as Retry-After: long enough for a database restart or a lock to pass.
    retry_after_seconds = 5


class InternalError(ExecutionError):
    code = "INTERNAL_ERROR"
    status_code = 500
    default_message = "An unexpected error occurred; it has been recorded for operators."


def status_for_code(code: str) -> int:
    """The HTTP status of a stored envelope's code (a job's error outlives its exception)."""
    return _STATUS_BY_CODE.get(code, 400)


def _all_subclasses(cls: type[ExecutionFailure]) -> list[type[ExecutionFailure]]:
    found = []
    for subclass in cls.__subclasses__():
        found += [subclass, *_all_subclasses(subclass)]
    return found


_STATUS_BY_CODE = {cls.code: cls.status_code for cls in _all_subclasses(ExecutionFailure)}


def known_codes() -> list[str]:
    """Every code the hierarchy declares, sorted: the admin filters jobs by these without
    reading the Job table (codes of protocol refusals come from the framework, not from here)."""
    return sorted(_STATUS_BY_CODE)
