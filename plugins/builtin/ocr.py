"""Text recognition (OCR) with the Tesseract engine, driven through pytesseract."""

from __future__ import annotations

import shutil
from types import ModuleType
from typing import Any

from plugins.base import AnalysisPlugin, OptionsUnsupported, PluginUnavailable
from plugins.builtin._imaging import open_for_analysis

INSTALL_TESSERACT = (
    "install the `tesseract-ocr` package (Debian/Ubuntu: apt-get install tesseract-ocr; "
    "macOS: brew install tesseract)"
)
# Tesseract runs as a child process: a thread timeout in the caller cannot stop it, so the
# process gets its own limit instead of possibly running forever on a huge image. Kept well
# below the worker's timeout (Q_TIMEOUT, 120 s), so a slow OCR fails as PLUGIN_FAILED instead
# of the worker being killed around it.
TESSERACT_TIMEOUT_SECONDS = 60
# Tesseract's "word" level in image_to_data; the other levels are pages, blocks, lines...
_WORD_LEVEL = 5
# 0 only detects orientation and 2 is not implemented by Tesseract: neither returns text.
_PAGE_SEGMENTATION_MODES = [1, *range(3, 14)]


class OcrPlugin(AnalysisPlugin):
    name = "ocr"
    version = "1.0.0"
    description = "Reads printed text with Tesseract: the full text and every word with its box."
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "lang": {
                "title": "Languages",
                "description": "Tesseract language codes joined by '+', e.g. 'eng' or "
                "'eng+fra' (default 'eng'). Each must be installed on the server.",
                "type": "string",
                "pattern": r"^[a-z_]{3,}(\+[a-z_]{3,})*$",
                "maxLength": 100,
                "default": "eng",
            },
            "psm": {
                "title": "Page segmentation mode",
                "description": "Tesseract --psm (default 3, fully automatic). For example 6 "
                "reads a single block of text, 7 a single line, 11 sparse text. 0 and 2 are "
                "excluded because they return no text.",
                "type": "integer",
                "enum": _PAGE_SEGMENTATION_MODES,
                "default": 3,
            },
        },
    }
    output_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["text", "words", "language"],
        "properties": {
            "text": {
                "title": "Recognised text, one line per text line, blank line between blocks",
                "type": "string",
            },
            "words": {
                "title": "Recognised words in reading order, boxes in upright-image pixels",
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["text", "confidence", "x", "y", "width", "height"],
                    "properties": {
                        "text": {"type": "string", "minLength": 1},
                        "confidence": {
                            "title": "Tesseract's confidence, 0 to 100",
                            "type": "number",
                            "minimum": 0,
                            "maximum": 100,
                        },
                        "x": {"type": "integer", "minimum": 0},
                        "y": {"type": "integer", "minimum": 0},
                        "width": {"type": "integer", "minimum": 0},
                        "height": {"type": "integer", "minimum": 0},
                    },
                },
            },
            "language": {"title": "Languages used", "type": "string"},
        },
    }

    _pytesseract: ModuleType | None = None
    _languages: frozenset[str] = frozenset()

    def setup(self) -> None:
        try:
            import pytesseract
        except ImportError as error:
            raise PluginUnavailable(
                f"pytesseract is not installed ({error}): pip install 'pytesseract>=0.3.13,<0.4'"
            ) from error
        command = pytesseract.pytesseract.tesseract_cmd
        if shutil.which(command) is None:
            raise PluginUnavailable(
                f"Tesseract is not installed (no {command!r} on PATH): {INSTALL_TESSERACT}"
            )
        # Listed once: asking Tesseract on every request would cost a process per request.
        # A language installed later is seen after a restart, like any other dependency.
        languages = frozenset(pytesseract.get_languages(config="")) - {"osd"}
        if not languages:
            raise PluginUnavailable(
                "Tesseract has no language data: install e.g. `tesseract-ocr-eng` "
                "(Debian/Ubuntu) or set TESSDATA_PREFIX to the tessdata directory"
            )
        self._pytesseract = pytesseract
        self._languages = languages

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._pytesseract is None:
            raise RuntimeError("setup() must be called before run()")
        options = payload["options"]
        language = options.get("lang", "eng")
        missing = sorted(set(language.split("+")) - self._languages)
        if missing:
            # Checked here because Tesseract's own error is a wall of text about TESSDATA_PREFIX.
            raise OptionsUnsupported(
                f"Tesseract language data not installed: {', '.join(missing)}. "
                f"Installed: {', '.join(sorted(self._languages))} "
                f"(Debian/Ubuntu packages are named tesseract-ocr-<code>)"
            )
        image = open_for_analysis(payload["image"]).convert("L")
        data = self._pytesseract.image_to_data(
            image,
            lang=language,
            config=f"--psm {options.get('psm', 3)}",
            output_type=self._pytesseract.Output.DICT,
            timeout=TESSERACT_TIMEOUT_SECONDS,
        )
        words, text = _words_and_text(data)
        return {"text": text, "words": words, "language": language}


def _words_and_text(data: dict[str, list[Any]]) -> tuple[list[dict[str, Any]], str]:
    """Pick the words out of Tesseract's table and rebuild the text from their lines.

    Rebuilding the text avoids a second Tesseract run (image_to_string) on the same image.
    """
    words: list[dict[str, Any]] = []
    blocks: list[list[list[str]]] = []  # block -> line -> words
    last_block = last_line = None
    for index, level in enumerate(data["level"]):
        word = str(data["text"][index]).strip()
        if int(level) != _WORD_LEVEL or not word:
            continue
        block = (data["page_num"][index], data["block_num"][index])
        line = (*block, data["par_num"][index], data["line_num"][index])
        if block != last_block:
            blocks.append([])
        if block != last_block or line != last_line:
            blocks[-1].append([])
        blocks[-1][-1].append(word)
        last_block, last_line = block, line
        words.append(
            {
                "text": word,
                "confidence": round(min(max(float(data["conf"][index]), 0.0), 100.0), 2),
                "x": int(data["left"][index]),
                "y": int(data["top"][index]),
                "width": int(data["width"][index]),
                "height": int(data["height"][index]),
            }
        )
    text = "\n\n".join("\n".join(" ".join(line) for line in block) for block in blocks)
    return words, text
