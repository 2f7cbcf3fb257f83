from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from execution import exceptions
from execution.api.server import API_PREFIX, body_refusal
from execution.conf import execution_settings
from execution.envelope import build_envelope, public_envelope

__all__ = ["API_PREFIX", "RequestSizeLimitMiddleware", "envelope_response"]


def envelope_response(failure: exceptions.ExecutionFailure) -> JsonResponse:
    """An envelope answered outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(public_envelope(build_envelope(failure)), status=failure.status_code)


class RequestSizeLimitMiddleware:
    """Refuse an API body whose declared length is over the limit, before reading a byte of it.

    Our server (execution.api.server) refuses these before it buffers the body; this is the
    same refusal for any other WSGI server and for the test client. Django reads no more of a
    body than its declared length, so this bounds every body; the upload handlers and
    DATA_UPLOAD_MAX_MEMORY_SIZE are a second line behind it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = body_refusal(
            path=request.path,
            content_length=request.META.get("CONTENT_LENGTH"),
            transfer_encoding=request.META.get("HTTP_TRANSFER_ENCODING", ""),
            limit=execution_settings.MAX_REQUEST_BYTES,
        )
        if refusal is not None:
            return envelope_response(refusal)
        return self.get_response(request)
