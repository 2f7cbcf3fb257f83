"""The ``Idempotency-Key`` header on the POST endpoints."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from rest_framework.request import Request
from rest_framework.response import Response

from execution import exceptions
from execution.services.idempotency import (
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED_HEADERS = ("Location",)


def request_fingerprint(request: Request) -> str:
    """A digest of the endpoint and the parsed body: the same request sent as JSON twice, or as
    multipart with another boundary, has the same fingerprint."""
    digest = hashlib.sha256(request.path.encode())
    if not isinstance(request.data, Mapping):  # a JSON array or scalar: refused later, hashed now
        digest.update(json.dumps(request.data, sort_keys=True, default=str).encode())
        return digest.hexdigest()
    fields: dict[str, Any] = {}
    for name, value in request.data.items():
        if isinstance(value, UploadedFile):
            file_digest = hashlib.sha256()
            for chunk in value.chunks():
                file_digest.update(chunk)
            value.seek(0)
            fields[name] = {"file_sha256": file_digest.hexdigest()}
        else:
            fields[name] = value
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= 255 and key.isascii() and key.isprintable()


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not _valid_key(key):
            raise exceptions.IdempotencyKeyInvalid()
        claim = idempotency_claim(
            user=request.user, key=key, fingerprint=request_fingerprint(request)
        )
        record = claim.record
        if claim.replay:
            headers = {**record.response_headers, REPLAYED_HEADER: "true"}
            return Response(record.response_body, status=record.response_status, headers=headers)
        try:
            response = view_method(view, request, *args, **kwargs)
        except BaseException:
            # Nothing was answered: the client may retry the key, with this body or a fixed one.
            idempotency_release(record=record)
            raise
        if response.status_code >= 500:
            # "Retry later" must stay retryable: replaying it would refuse the key for a day.
            idempotency_release(record=record)
            return response
        idempotency_complete(
            record=record,
            status=response.status_code,
            body=response.data,
            headers={name: response[name] for name in REPLAYED_HEADERS if name in response},
        )
        return response

    return wrapper
