"""Reading the project's Markdown the way its tests need: the documents, their code spans and
blocks, their links and headings. Plain regular expressions: the docs are ours and simple."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FENCE_WITH_LANGUAGE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class TextFile:
    """A file of the repository and its text: a document, or a sample file of the scanner."""

    path: Path
    text: str

    @property
    def name(self) -> str:
        return str(self.path.relative_to(REPO_ROOT))


@dataclass(frozen=True)
class Document(TextFile):
    """A Markdown file: its code, prose, links and headings."""

    def code_blocks(self, language: str | None = None) -> list[str]:
        return [
            body
            for lang, body in FENCE_WITH_LANGUAGE.findall(self.text)
            if language is None or lang == language
        ]

    def prose(self) -> str:
        """The text outside fenced blocks."""
        return FENCE.sub("", self.text)

    def inline_code(self) -> list[str]:
        return INLINE_CODE.findall(self.prose())

    def links(self) -> list[str]:
        return LINK.findall(self.prose())

    def anchors(self) -> set[str]:
        return {github_slug(heading) for heading in HEADING.findall(self.prose())}


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def tracked_files() -> frozenset[str]:
    """The repository's files, as git knows them (tracked or new, never ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return frozenset(name for name in listed if (REPO_ROOT / name).exists())


def documents() -> list[Document]:
    """README.md and every Markdown file under docs/ (docs/design/ included)."""
    paths = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    return [Document(path, path.read_text()) for path in paths]


def document(name: str) -> Document:
    path = REPO_ROOT / name
    return Document(path, path.read_text())
