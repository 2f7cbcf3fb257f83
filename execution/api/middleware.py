from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from execution import exceptions
from execution.conf import execution_settings
from execution.envelope import build_envelope, public_envelope

API_PREFIX = "/v1/"


def envelope_response(failure: exceptions.ExecutionFailure) -> JsonResponse:
    """An envelope answered outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(public_envelope(build_envelope(failure)), status=failure.status_code)


class RequestSizeLimitMiddleware:
    """Refuse an API body whose declared length is over the limit, before reading a byte of it.

    Django reads no more of a body than its declared length, so this bounds every body; the
    upload handlers and DATA_UPLOAD_MAX_MEMORY_SIZE are a second line behind it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                # Django reads no more than Content-Length: a chunked body would read as empty.
                return envelope_response(
                    exceptions.RequestRejected(
                        "Send the body with a Content-Length; chunked bodies are not read.",
                        code="LENGTH_REQUIRED",
                        status_code=411,
                    )
                )
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = execution_settings.MAX_REQUEST_BYTES
            if length > limit:
                return envelope_response(
                    exceptions.RequestTooLarge(
                        f"The request body is {length} bytes; the limit is {limit}.",
                        details={"max_bytes": limit, "size": length},
                    )
                )
        return self.get_response(request)
