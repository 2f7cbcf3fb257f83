"""What the README and docs/ name exists: every repository path, module, link and anchor, every
`make` target and every `manage.py` command. A rename that forgets a document fails here."""

from __future__ import annotations

import fnmatch
import importlib
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

from tests.docs.markdown import REPO_ROOT, Document, document, documents, tracked_files

DOCUMENTS = documents()
IDS = [doc.name for doc in DOCUMENTS]

# A relative path with at least one directory: `execution/services/`, `samples/*.jpg`. Not a MIME
# type (`image/png`: its first segment is no top-level entry), not a URL path (`/v1/plugins`).
PATH = re.compile(r"(?<![\w/.$:-])((?:\.?[A-Za-z_][\w.-]*/)+[\w.*-]*)")
FILE_NAME = re.compile(r"^[\w.-]+\.(?:py|md|toml|yml|yaml|cfg|drawio|json|jpg|png)$")
MODULE = re.compile(
    r"^(?:execution_project|execution|registry|plugins|scripts)(?:\.[A-Za-z_]\w*)+$"
)
MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([a-z][\w-]*)")
MANAGE = re.compile(r"manage\.py\s+([a-z]\w*)")
# Made by `make run` (the virtualenv, the embedded set-up's state), never committed.
MADE_AT_RUN_TIME = (".venv/", "var/")
# Files of a virtualenv (what the scanner skips it by), never committed either.
MADE_AT_RUN_TIME_FILES = {"pyvenv.cfg"}
SHELL_BLOCKS = ("bash", "sh", "console", "shell", "")


def _commands(doc: Document) -> list[str]:
    """Inline code and the shell blocks: where a reader finds something to type."""
    blocks = [
        body
        for language in SHELL_BLOCKS
        for body in doc.code_blocks(language)
        if not body.lstrip().startswith(("{", "["))  # a JSON example
    ]
    return [*doc.inline_code(), *blocks]


def _top_level() -> set[str]:
    return {name.split("/", 1)[0] for name in tracked_files()}


def _path_exists(path: str) -> bool:
    files = tracked_files()
    path = path.rstrip(".,;:")
    if "*" in path:
        return any(fnmatch.fnmatch(name, path) for name in files)
    if path.endswith("/"):
        return any(name.startswith(path) for name in files)
    return path in files or any(name.startswith(f"{path}/") for name in files)


def _named_paths(doc: Document) -> set[str]:
    top = _top_level()
    named = set()
    for text in _commands(doc):
        for path in PATH.findall(text):
            if path.split("/", 1)[0] in top and not path.startswith(MADE_AT_RUN_TIME):
                named.add(path)
    return named


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_repository_path_a_document_names_exists(doc: Document) -> None:
    missing = sorted(path for path in _named_paths(doc) if not _path_exists(path))
    assert missing == [], f"{doc.name} names paths that do not exist"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_file_name_a_document_names_exists_somewhere(doc: Document) -> None:
    basenames = {Path(name).name for name in tracked_files()}
    named = {code for code in doc.inline_code() if FILE_NAME.match(code)}
    assert sorted(named - basenames - MADE_AT_RUN_TIME_FILES) == [], (
        f"{doc.name} names files that do not exist"
    )


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_module_and_object_a_document_names_imports(doc: Document) -> None:
    named = {code.removesuffix("()") for code in doc.inline_code()}
    dotted = sorted(code for code in named if MODULE.match(code))
    assert [name for name in dotted if not _resolves(name)] == [], (
        f"{doc.name} names modules or objects that do not exist"
    )


def _make_targets() -> set[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", makefile, re.MULTILINE))


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_make_target_a_document_names_exists(doc: Document) -> None:
    named = {target for text in _commands(doc) for target in MAKE.findall(text)}
    assert sorted(named - _make_targets()) == [], f"{doc.name} names make targets that do not exist"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_management_command_a_document_names_exists(doc: Document) -> None:
    named = {command for text in _commands(doc) for command in MANAGE.findall(text)}
    assert sorted(named - set(get_commands())) == [], (
        f"{doc.name} names manage.py commands that do not exist"
    )


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_relative_link_and_anchor_resolves(doc: Document) -> None:
    broken = []
    for link in doc.links():
        if re.match(r"^[a-z]+:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (doc.path.parent / target).resolve() if target else doc.path
        relative = path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else ""
        exists = bool(relative) and _path_exists(relative)
        markdown = exists and path.suffix == ".md"
        if not exists or (anchor and markdown and anchor not in document(relative).anchors()):
            broken.append(link)
    assert broken == [], f"{doc.name} has links that lead nowhere"


def test_the_checks_find_what_they_look_for() -> None:
    """The patterns above are what keeps the docs true: they must see what a reader sees."""
    sample = Document(
        REPO_ROOT / "docs" / "sample.md",
        "Run `make run`, then `.venv/bin/python manage.py sync_plugins`; read\n"
        "`execution/services/` and `image/png` (a MIME type) and `registry.services.plugin_enable`.\n"
        "```bash\ncurl -F image=@samples/qr-code.png http://127.0.0.1:8000/v1/plugins\n```\n",
    )
    assert _named_paths(sample) == {"execution/services/", "samples/qr-code.png"}
    assert {t for text in _commands(sample) for t in MAKE.findall(text)} == {"run"}
    assert {c for text in _commands(sample) for c in MANAGE.findall(text)} == {"sync_plugins"}
    assert _resolves("registry.services.plugin_enable")
    assert not _resolves("registry.services.no_such_service")
    assert not _path_exists("execution/no_such_module.py")
