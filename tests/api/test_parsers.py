"""The JSON parser: what DRF's JSONParser accepts and refuses, without keeping the raw body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from execution.api.parsers import JSONBodyParser

BODY = {"plugin": "image-metadata", "image": "aGVsbG8=", "options": {"name": "Zoë ☃"}}


def parsed(raw: bytes, content_type: str = "application/json") -> tuple[Any, Request]:
    request = Request(
        APIRequestFactory().post("/v1/analyze-execution", raw, content_type=content_type),
        parsers=[JSONBodyParser()],
    )
    return request.data, request


def test_a_body_is_parsed_and_its_bytes_are_not_kept_on_the_request() -> None:
    data, request = parsed(json.dumps(BODY).encode())

    assert data == BODY
    # DRF's own JSONParser reads request.body, which Django keeps as _body for the request's
    # life: that is the copy of a large image this parser exists to drop.
    assert not hasattr(request._request, "_body")


def test_the_charset_of_the_content_type_decodes_the_body() -> None:
    data, _ = parsed(
        json.dumps(BODY, ensure_ascii=False).encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )

    assert data == BODY


@pytest.mark.parametrize(
    ("raw", "content_type", "message"),
    [
        (b'{"a": NaN}', "application/json", "JSON parse error"),
        (b"\xff\xfe{}", "application/json", "JSON parse error"),
        (b'{"a": 1', "application/json", "JSON parse error"),
        (
            b'{"a": 1' + b"0" * 5000 + b"}",
            "application/json",
            "a number has more than 4300 digits$",
        ),
        # A codec that is not text would inflate the body past every size limit.
        (b"BZh9", "application/json; charset=bz2_codec", "Unsupported charset"),
    ],
)
def test_what_cannot_be_read_as_json_is_a_parse_error(
    raw: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        parsed(raw, content_type=content_type)
