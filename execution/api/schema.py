"""OpenAPI documentation of the envelope: one component, an example per status an endpoint
can answer, so a generated client knows every error shape without reading our code."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from execution import exceptions
from execution.api.idempotency import HEADER as IDEMPOTENCY_HEADER


class ErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["ValidationError", "PluginError", "ExecutionError"])
    code = serializers.CharField(help_text="Stable, UPPER_SNAKE_CASE: branch on this.")
    message = serializers.CharField(help_text="For humans; may change.")
    details = serializers.DictField(help_text="Structured context, per code.")
    plugin = serializers.CharField(allow_null=True)
    job_id = serializers.UUIDField(allow_null=True)
    timestamp = serializers.DateTimeField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


# A representative error per status, for the examples: ours from their exception classes (one
# source for code, type and message), the framework's as DRF words them.
_FAILURES: dict[int, list[type[exceptions.ExecutionFailure]]] = {
    400: [exceptions.ImageNotBase64, exceptions.MimeTypeMismatch, exceptions.PluginNotFound],
    404: [exceptions.JobNotFound],
    409: [exceptions.JobNotFinished],
    408: [exceptions.RequestTimeout],
    413: [exceptions.RequestTooLarge, exceptions.OptionsTooLarge],
    422: [exceptions.IdempotencyKeyReused],
    503: [exceptions.ServiceUnavailable, exceptions.ImageStorageFull],
}
_FRAMEWORK_ERRORS: dict[int, tuple[str, str]] = {
    401: ("NOT_AUTHENTICATED", "Authentication credentials were not provided."),
    403: ("PERMISSION_DENIED", "You do not have permission to perform this action."),
    405: ("METHOD_NOT_ALLOWED", 'Method "PUT" not allowed.'),
    406: ("NOT_ACCEPTABLE", "Could not satisfy the request Accept header."),
    415: ("UNSUPPORTED_MEDIA_TYPE", 'Unsupported media type "text/csv" in request.'),
    429: ("THROTTLED", "Request was throttled. Expected available in 12 seconds."),
}
_EXAMPLES: dict[int, list[tuple[str, str, str]]] = {
    **{
        status: [(failure.type, failure.code, failure.default_message) for failure in failures]
        for status, failures in _FAILURES.items()
    },
    **{
        status: [("ExecutionError", code, message)]
        for status, (code, message) in _FRAMEWORK_ERRORS.items()
    },
}

# What every authenticated endpoint can answer, whatever it does.
COMMON_ERRORS = (401, 403, 405, 406, 429, 503)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    responses = {}
    for status in sorted({*statuses, *COMMON_ERRORS}):
        examples = [
            OpenApiExample(
                code,
                value={
                    "error": {
                        "type": error_type,
                        "code": code,
                        "message": message,
                        "details": {},
                        "plugin": None,
                        "job_id": None,
                        "timestamp": "2026-11-21T12:00:00Z",
                    }
                },
                response_only=True,
                status_codes=[str(status)],
            )
            for error_type, code, message in _EXAMPLES[status]
        ]
        responses[status] = OpenApiResponse(
            ErrorEnvelopeSerializer, description="The error envelope.", examples=examples
        )
    return responses


IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the POST safe to retry: the same key and body return the first response and "
        "create no second job; the same key with another body answers 422; a retry while the "
        "first request is still running answers 409."
    ),
)


RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request.",
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 202],
    description='"true" when this is the stored first response to an Idempotency-Key.',
)
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202],
    required=True,
    description="The job's URL: poll it, then read its /result.",
)

_JOB_ID = "3f0c2b1e-8d4a-4c5e-9a7b-1f2e3d4c5b6a"
ANALYZE_REQUEST_EXAMPLE = OpenApiExample(
    "Faces in a photograph (JSON, base64)",
    value={
        "plugin": "face-detection",
        "image": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U...",
        "mime_type": "image/jpeg",
        "options": {"min_size": 40},
    },
    request_only=True,
    media_type="application/json",
)
SYNC_RESULT_EXAMPLE = OpenApiExample(
    "Faces found",
    value={
        "job_id": _JOB_ID,
        "status": "SUCCESS",
        "plugin": "face-detection",
        "result": {
            "faces": [{"x": 176, "y": 65, "width": 96, "height": 96}],
            "count": 1,
            "image_width": 512,
            "image_height": 512,
        },
        "execution_time_ms": 81.5,
    },
    response_only=True,
    status_codes=["200"],
)
ACCEPTED_EXAMPLE = OpenApiExample(
    "Accepted for a worker",
    value={
        "job_id": _JOB_ID,
        "status": "PENDING",
        "plugin": "face-detection",
        "created_at": "2026-11-21T12:00:00Z",
    },
    response_only=True,
    status_codes=["202"],
)
