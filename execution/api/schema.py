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
# A real image, small enough to read: samples/qr-code.png, a QR code for
# https://example.org/governed. Swagger UI's "Try it out" sends the example as it is, so it must
# be a request that succeeds, not a truncated placeholder that fails and counts against a plugin.
QR_CODE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAASgAAAEoCAAAAADObDPFAAAC6ElEQVR42u3d0WrDQAwEQF/p//+y+m4Iknyyk7az"
    "bwlOYwYdLPbFXXFIJV8IQIECBQoUKAEFChQoUKBACShQoECBAiWgQIECBQoUKAEFChQoUKBACShQoECBAiWgQIEC"
    "BQoUKHmd7+4H1sUvihefj+L3RfL66vmYKEsPFChQoATUUz2q20PW0OfuOh8TZemBAgUKlIB6ukdlvSSS46P5d1ax"
    "L3XPx0RZeqBAgQIloN7Vo3b7VwwdZ6IsPVCgQAkoUP+lR5170vGiL63icSbK0gMFCpSAAvXbelRcPL57nam6rzxM"
    "lKUHChQoAQXqw3vU2vxcFF/ffT4mChQoUKBACairteZd+46y5xdk+9Dd17P0QIESUKBA/bYe1b2vdvf1prt+92ei"
    "LD1QoECBAiVJbn9+VPX+XfY660tZP9r93Z+JAgUKFChQoORcL65eF6r2lennPlX3QYWJsvRAgQIloEB9WI/a/sJi"
    "D9vtRdP7qUwUKFCgQIECJbs9qro/vLpvvHu9qfq92XMS7I+y9ECBAgVKQD3do46h3pMdd9f/IbbP3NIDBQoUKAE1"
    "lPHnR8XF46rvd+8LTt3fM1GgQIECBQqUnGvG9H29rE91nwvlepSlBwqUgAIF6kPz2PWo6vvdvtY9PxNl6YECBQqU"
    "gBrK236vdyQ96er1pLv+74yJAgUKFChQoOSU9vWo3fts5z6zkvd3e9XueZsoUKBAgQIFSqZ6VNZruv0lmn2pex67"
    "16FMFChQoECBAiXTPequflN9vYrn1d2XZaIsPVCgQIESUE/1qKu9K5K+lH2uus9qmShLDxQoUAIK1B/pUUfSc6ae"
    "9xTDf89EgQIFChQoUDLdo2L48yvpW/Gm8zRRoECBAgUKlEz1qKn7Zd37edXzmb7OZaJAgQIFChQoOdeLYGCiQIEC"
    "BQqUgAIFChQoUKAEFChQoECBElCgQIECBQqUgAIFChQoUKAEFChQoECBElCgQIECBQqUgNrND8Ptg2BV+XjxAAAA"
    "AElFTkSuQmCC"
)
ANALYZE_REQUEST_EXAMPLE = OpenApiExample(
    "A QR code (JSON, base64)",
    value={
        "plugin": "qr-code",
        "image": QR_CODE_PNG_BASE64,
        "mime_type": "image/png",
        "options": {},
    },
    request_only=True,
    media_type="application/json",
)
SYNC_RESULT_EXAMPLE = OpenApiExample(
    "The QR code's text",
    value={
        "job_id": _JOB_ID,
        "status": "SUCCESS",
        "plugin": "qr-code",
        "result": {
            "codes": [
                {
                    "text": "https://example.org/governed",
                    "points": [[48.0, 48.0], [247.0, 48.0], [246.77, 246.77], [48.0, 247.0]],
                }
            ],
            "count": 1,
        },
        "execution_time_ms": 12.5,
    },
    response_only=True,
    status_codes=["200"],
)
ACCEPTED_EXAMPLE = OpenApiExample(
    "Accepted for a worker",
    value={
        "job_id": _JOB_ID,
        "status": "PENDING",
        "plugin": "qr-code",
        "created_at": "2026-11-21T12:00:00Z",
    },
    response_only=True,
    status_codes=["202"],
)
