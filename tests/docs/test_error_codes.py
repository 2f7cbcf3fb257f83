"""The governance document's table of error codes is the code base's, exactly.

The codes are read from the code, never from a list kept here: every ``code`` of the exception
hierarchy, every code a call site passes to ``RequestRejected`` (or anything else taking a
literal ``code=``), and what the one exception handler makes of every exception of the framework
and of Django that it translates. Each must be in the table with its type and HTTP status; each
code the table lists must exist. A code added anywhere without a row fails here.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core import exceptions as django_exceptions
from django.db import OperationalError
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions as drf_exceptions

from execution import exceptions
from execution.api.exception_handler import envelope_exception_handler
from tests.docs.markdown import REPO_ROOT, Document, document, documents

GOVERNANCE = "docs/design/execution-governance.md"
CODE = re.compile(r"`([A-Z][A-Z0-9_]{2,})`")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
PROJECT_PACKAGES = ("execution", "registry", "plugins", "execution_project")


@dataclass(frozen=True)
class Code:
    type: str | None  # None: a literal code whose type the call site does not fix
    status: int | None
    source: str


def _exception_classes() -> list[type[exceptions.ExecutionFailure]]:
    found: list[type[exceptions.ExecutionFailure]] = []
    pending = [exceptions.ExecutionFailure]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    # RequestRejected's code and status are its caller's: the call sites are read below.
    return [cls for cls in found if cls is not exceptions.RequestRejected]


def _literal_codes() -> dict[str, Code]:
    """Codes written as literals in the project's code: ``code="X"`` passed to any call
    (``RequestRejected`` at the middleware and the 404 handler, among others), with the status
    and type beside it; and ``{status: "X"}`` tables in a function that builds the failure for a
    status (gunicorn's refusals), with what that function makes of each status."""
    found: dict[str, Code] = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            for function in ast.walk(ast.parse(path.read_text())):
                if isinstance(function, ast.FunctionDef):
                    found |= _status_tables(function, module, path)
                if isinstance(function, ast.Call):
                    found |= _code_keyword(function, path)
    return found


def _code_keyword(node: ast.Call, path: Path) -> dict[str, Code]:
    keywords = {
        keyword.arg: keyword.value.value
        for keyword in node.keywords
        if isinstance(keyword.value, ast.Constant)
    }
    code = keywords.get("code")
    if not (isinstance(code, str) and UPPER_SNAKE.match(code)):
        return {}
    status = keywords.get("status_code")
    rejected = ast.unparse(node.func).endswith("RequestRejected")
    return {
        code: Code(
            type=keywords.get("type", "ExecutionError") if rejected else None,
            status=status if isinstance(status, int) else None,
            source=f"{path.relative_to(REPO_ROOT)}:{node.lineno}",
        )
    }


def _status_tables(function: ast.FunctionDef, module: str, path: Path) -> dict[str, Code]:
    found: dict[str, Code] = {}
    for table in ast.walk(function):
        if not isinstance(table, ast.Dict):
            continue
        for key, value in zip(table.keys, table.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, int)):
                continue
            if not (isinstance(value, ast.Constant) and UPPER_SNAKE.match(str(value.value))):
                continue
            source = f"{path.relative_to(REPO_ROOT)}:{key.lineno}"
            found[value.value] = Code(None, key.value, source)
            # A builder of failures by status (`malformed_request_failure(status, message)`):
            # what it really builds for this status, type included.
            builder = getattr(importlib.import_module(module), function.name, None)
            with contextlib.suppress(TypeError):
                failure = builder(key.value, "") if builder else None
                if isinstance(failure, exceptions.ExecutionFailure):
                    found[failure.code] = Code(failure.type, failure.status_code, source)
    return found


def _translated_exceptions() -> list[BaseException]:
    """Every exception the handler turns into an envelope without an ExecutionFailure of ours:
    each of DRF's (the ones its own code raises), and the Django and database ones it maps."""
    translated: list[BaseException] = []
    for cls in vars(drf_exceptions).values():
        if (
            inspect.isclass(cls)
            and issubclass(cls, drf_exceptions.APIException)
            and cls is not drf_exceptions.APIException
        ):
            required = [
                parameter
                for parameter in inspect.signature(cls.__init__).parameters.values()
                if parameter.name != "self" and parameter.default is inspect.Parameter.empty
                if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ]
            translated.append(cls(*["x"] * len(required)))
    translated += [
        Http404(),
        django_exceptions.PermissionDenied(),
        django_exceptions.RequestDataTooBig(),
        django_exceptions.SuspiciousOperation(),
        UnreadablePostError(),
        RecursionError(),
        OperationalError(),
        RuntimeError("anything else"),
    ]
    return translated


def code_base_codes() -> dict[str, Code]:
    codes: dict[str, Code] = {}

    def add(code: str, found: Code) -> None:
        known = codes.get(code)
        if known is not None and known.type is not None and found.type is not None:
            # One code, one meaning: status_for_code() reads a stored code's status back.
            assert (known.type, known.status) == (found.type, found.status), (
                f"{code} is {known} and {found}"
            )
        if known is None or known.type is None:
            codes[code] = found

    for cls in _exception_classes():
        add(cls.code, Code(cls.type, cls.status_code, f"execution.exceptions.{cls.__name__}"))
    for code, found in _literal_codes().items():
        add(code, found)
    for exc in _translated_exceptions():
        response = envelope_exception_handler(exc, {})
        assert response.data is not None
        error = response.data["error"]
        add(error["code"], Code(error["type"], response.status_code, f"{type(exc).__name__}"))
    return codes


@dataclass(frozen=True)
class Row:
    codes: tuple[str, ...]
    type: str
    status: str
    line: int


def code_tables(doc: Document) -> list[Row]:
    """The rows of every table whose header begins ``| code | type | status |``."""
    rows, in_table = [], False
    for number, line in enumerate(doc.text.splitlines(), start=1):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_table = False
        elif [cell.lower() for cell in cells[:3]] == ["code", "type", "status"]:
            in_table = True
        elif in_table and not set(line) <= set("|-: "):
            rows.append(Row(tuple(CODE.findall(cells[0])), cells[1], cells[2], number))
    return rows


def _leading_status(cell: str) -> int | None:
    match = re.match(r"\s*(\d{3})\b", cell)
    return int(match.group(1)) if match else None


def _table_problems(rows: list[Row], codes: dict[str, Code]) -> list[str]:
    problems = []
    for row in rows:
        if not row.codes:
            problems.append(f"line {row.line}: no code in the first cell")
        for code in row.codes:
            if code not in codes:
                problems.append(f"line {row.line}: {code} is not a code of the code base")
                continue
            known = codes[code]
            if known.type is not None and row.type != known.type:
                problems.append(f"line {row.line}: {code} is {known.type}, not {row.type}")
            if known.status is not None and _leading_status(row.status) != known.status:
                problems.append(f"line {row.line}: {code} answers {known.status}, not {row.status}")
    return problems


CODES = code_base_codes()


def _type_and_status(code: str) -> tuple[str | None, int | None]:
    return CODES[code].type, CODES[code].status


def test_the_code_base_has_the_codes_everyone_knows() -> None:
    """The derivation itself: it finds codes of each origin, with their status and type."""
    assert _type_and_status("IMAGE_TOO_LARGE") == ("ValidationError", 413)
    assert _type_and_status("PLUGIN_UNAVAILABLE") == ("PluginError", 400)
    assert _type_and_status("LENGTH_REQUIRED") == (
        "ExecutionError",
        411,
    )  # a RequestRejected call site
    assert _type_and_status("THROTTLED") == ("ExecutionError", 429)  # DRF's, through the handler
    assert _type_and_status("PARSE_ERROR") == ("ValidationError", 400)
    assert _type_and_status("REQUEST_LINE_TOO_LONG") == ("ValidationError", 414)  # gunicorn's
    assert _type_and_status("INTERNAL_ERROR") == ("ExecutionError", 500)


def test_every_code_of_the_code_base_is_in_the_governance_table() -> None:
    listed = {code for row in code_tables(document(GOVERNANCE)) for code in row.codes}
    missing = sorted(set(CODES) - listed)
    assert not missing, f"codes missing from {GOVERNANCE}: {', '.join(missing)}"


def test_the_governance_table_lists_each_code_once() -> None:
    listed = [code for row in code_tables(document(GOVERNANCE)) for code in row.codes]
    assert sorted({code for code in listed if listed.count(code) > 1}) == []


@pytest.mark.parametrize("doc", documents(), ids=lambda doc: doc.name)
def test_every_code_table_agrees_with_the_code(doc: Document) -> None:
    """The governance table, and any other table of codes (docs/api.md's), row by row."""
    problems = _table_problems(code_tables(doc), CODES)
    assert not problems, "\n".join([doc.name, *problems])


def test_a_wrong_row_is_found() -> None:
    table = Document(
        REPO_ROOT / "docs" / "sample.md",
        "| code | type | status | when |\n|---|---|---|---|\n"
        "| `IMAGE_TOO_LARGE` | ValidationError | 400 | |\n"
        "| `NO_SUCH_CODE` | ExecutionError | 400 | |\n"
        "| `JOB_NOT_FOUND`, `JOB_NOT_FINISHED` | PluginError | 404 | |\n",
    )
    assert _table_problems(code_tables(table), CODES) == [
        "line 3: IMAGE_TOO_LARGE answers 413, not 400",
        "line 4: NO_SUCH_CODE is not a code of the code base",
        "line 5: JOB_NOT_FOUND is ExecutionError, not PluginError",
        "line 5: JOB_NOT_FINISHED is ExecutionError, not PluginError",
        "line 5: JOB_NOT_FINISHED answers 409, not 404",
    ]
