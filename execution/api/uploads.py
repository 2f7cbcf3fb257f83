"""Upload handlers that stop a file part at the request limit instead of spooling it to disk."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)

from execution import exceptions
from execution.conf import execution_settings


class _Limited(FileUploadHandler):
    def receive_data_chunk(self, raw_data: bytes, start: int) -> Any:
        # Django gives no limit for file parts; a chunked upload would otherwise fill the disk.
        limit = execution_settings.MAX_REQUEST_BYTES
        if start + len(raw_data) > limit:
            raise exceptions.RequestTooLarge(details={"max_bytes": limit})
        return super().receive_data_chunk(raw_data, start)


class LimitedMemoryFileUploadHandler(_Limited, MemoryFileUploadHandler):
    pass


class LimitedTemporaryFileUploadHandler(_Limited, TemporaryFileUploadHandler):
    pass
