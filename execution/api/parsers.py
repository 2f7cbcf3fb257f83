"""Request body parsers."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from json import JSONDecodeError
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils import json

from execution import exceptions


class JSONBodyParser(BaseParser):
    """JSON, as DRF's JSONParser parses it, without keeping the raw body for the request's life.

    DRF reads the body of a ``JSONParser`` (or a subclass) into ``request.body`` first, where it
    stays until the response is sent: a 20 MB image in base64 was then held as those bytes, as
    their decoded text and as the parsed string at once. Not a subclass, so DRF hands over the
    stream: the bytes are read, decoded and dropped before the text is parsed.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            # str.encode takes text codecs only: a bytes-to-bytes one (bz2_codec) named in the
            # Content-Type would inflate a small body past every size limit.
            "".encode(encoding)
        except (LookupError, UnicodeError) as error:
            raise ParseError(f'Unsupported charset "{encoding}" in the Content-Type.') from error
        # Django's limit on a body held in memory, which request.body would have checked.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise exceptions.RequestTooLarge(details={"max_bytes": limit})
        strict = json.strict_constant if api_settings.STRICT_JSON else None
        try:
            text = body.decode(encoding)
            del body  # the bytes go before the text is parsed
            return json.loads(text, parse_constant=strict)
        except (UnicodeDecodeError, JSONDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        except ValueError as error:
            # Python's limit on an integer's digits; its message names a function of Python's.
            raise ParseError(
                f"JSON parse error - a number has more than {sys.get_int_max_str_digits()} digits"
            ) from error
