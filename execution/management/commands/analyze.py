from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from execution.models import JobStatus
from execution.services import AnalysisExecutionService
from execution.validation import ExecutionRequest


class Command(BaseCommand):
    help = (
        "Run a plugin on image files through the governed path (each file becomes a job) and "
        "print one JSON line per file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plugin", help="Plugin name, as listed by `manage.py plugins`.")
        parser.add_argument("files", nargs="+", type=Path, help="Image files to analyse.")
        parser.add_argument(
            "--options", default="{}", help="Plugin options as JSON, e.g. '{\"min_size\": 40}'."
        )
        parser.add_argument(
            "--mime-type", help="Declared MIME type for every file (default: from the extension)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plugin_options = json.loads(options["options"])
        except json.JSONDecodeError as error:
            raise CommandError(f"--options is not valid JSON: {error.msg}") from error

        files: list[Path] = options["files"]
        service = AnalysisExecutionService()
        failures = 0
        # A bar on stderr only for batches; stdout stays one JSON document per line.
        for path in tqdm(files, unit="image", disable=len(files) < 2, file=self.stderr._out):
            mime_type = options["mime_type"] or mimetypes.guess_type(path.name)[0]
            try:
                image = path.read_bytes()
            except OSError as error:
                failures += 1
                self.stdout.write(json.dumps({"file": str(path), "error": str(error)}))
                continue
            job = service.execute(
                request=ExecutionRequest(
                    plugin=options["plugin"],
                    image=image,
                    mime_type=mime_type,
                    options=plugin_options,
                )
            )
            line: dict[str, Any] = {"file": str(path), "job_id": str(job.id), "status": job.status}
            if job.status == JobStatus.SUCCESS:
                line["result"] = job.result
            else:
                failures += 1
                line["error"] = (job.error or {}).get("error")
            self.stdout.write(json.dumps(line))
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed.")
