"""The one DRF exception handler: every error response of /v1 is the error envelope."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from execution import exceptions
from execution.envelope import build_envelope, public_envelope

logger = logging.getLogger(__name__)

UNAVAILABLE_SERVICE_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _from_drf(exc: drf_exceptions.APIException) -> exceptions.ExecutionFailure:
    if isinstance(exc, drf_exceptions.ValidationError):
        return exceptions.RequestInvalid(details={"fields": exc.detail})
    return exceptions.RequestRejected(
        str(exc.detail),
        code=str(exc.default_code).upper(),
        status_code=exc.status_code,
        type="ValidationError" if isinstance(exc, drf_exceptions.ParseError) else "ExecutionError",
    )


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # Django's message names its setting; the client is told the limit instead.
        many, limit = (
            ("fields", settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
            if isinstance(exc, TooManyFieldsSent)
            else ("files", settings.DATA_UPLOAD_MAX_NUMBER_FILES)
        )
        exc = exceptions.RequestInvalid(
            f"The request has more than {limit} {many}.", details={f"max_{many}": limit}
        )
    elif isinstance(exc, SuspiciousOperation):
        # Other input Django refuses (a form's malformed parts, among them).
        exc = exceptions.RequestInvalid(f"The request was refused: {exc}")
    elif isinstance(exc, UnreadablePostError | RecursionError):
        # RecursionError: JSON nested deeper than the parser can follow.
        exc = drf_exceptions.ParseError("The request body could not be read.")

    if isinstance(exc, exceptions.ExecutionFailure):
        failure = exc
    elif isinstance(exc, drf_exceptions.APIException):
        failure = _from_drf(exc)
        if auth_header := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if wait := getattr(exc, "wait", None):
            # Whole seconds, as the message gives them: DRF's Throttled has rounded them up.
            headers["Retry-After"] = str(wait)
    elif isinstance(exc, UNAVAILABLE_SERVICE_ERRORS):
        # The database or Redis (queue and throttle counters) is unreachable: worth a retry.
        # Other database errors are faults of ours that a retry would not mend.
        logger.exception("A service is unavailable while serving %s", context.get("request"))
        failure = exceptions.ServiceUnavailable()
    else:
        logger.exception("Unhandled error while serving %s", context.get("request"))
        failure = exceptions.InternalError()

    if isinstance(failure, exceptions.ServiceUnavailable):
        headers["Retry-After"] = str(failure.retry_after_seconds)
    envelope = public_envelope(build_envelope(failure))
    return Response(envelope, status=failure.status_code, headers=headers)
