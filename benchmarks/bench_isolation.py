"""What process isolation costs: a script, not a test (``make test`` does not run it).

    .venv/bin/python benchmarks/bench_isolation.py [--trials 400]

In one run, on a fresh SQLite database in a temporary directory, through
``PluginExecutionService.execute`` (the registry's gate, validation, the registry writes):

1. the median added cost of running ``image-metadata`` on an 8x6 PNG in a pool child over
   running it inline, trials interleaved (inline, process, inline, ...) so both see the same
   machine;
2. the parent's peak RSS while a 20 MB image goes to an isolated plugin, as a multiple of the
   image's size: the image itself plus the rise of the peak (``VmHWM``, reset through
   ``/proc/self/clear_refs``) during the run over the RSS before it. For comparison, the same
   with the image pickled into the task (no file in /dev/shm).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def noise_png(size_bytes: int) -> bytes:
    """A PNG of random pixels (incompressible), about ``size_bytes`` long."""
    from PIL import Image

    side = int((size_bytes / 3) ** 0.5) + 1
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=400, help="runs of each mode")
    options = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="bench-isolation-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="execution_project.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        VAR_DIR=str(workdir),
        EXECUTION_POOL_SIZE="1",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from execution.services import PluginExecutionService
    from execution.validation import ExecutionRequest
    from tests import images

    call_command("migrate", verbosity=0)
    plugins = PluginExecutionService()
    plugins.sync_registry()
    base = {**settings.EXECUTION, "MAX_IMAGE_BYTES": 32 * MIB}

    def hosted(isolation: str) -> None:
        settings.EXECUTION = {
            **base,
            "PLUGIN_HOSTING": {"image-metadata": {"isolation": isolation}},
        }

    def run_once(image: bytes) -> float:
        request = ExecutionRequest(plugin="image-metadata", image=image, mime_type="image/png")
        started = time.perf_counter()
        outcome = plugins.execute(request=request)
        elapsed = (time.perf_counter() - started) * 1000
        if not outcome.succeeded:
            raise RuntimeError(outcome.error)
        return elapsed

    small = images.small_png()
    for isolation in ("inline", "process"):  # warm-up: the pool's child, caches, the database
        hosted(isolation)
        for _ in range(30):
            run_once(small)
    timings: dict[str, list[float]] = {"inline": [], "process": []}
    for _ in range(options.trials):
        for isolation in ("inline", "process"):
            hosted(isolation)
            timings[isolation].append(run_once(small))
    inline, process = (statistics.median(timings[mode]) for mode in ("inline", "process"))
    print(f"small image ({len(small)} bytes), {options.trials} interleaved trials of each:")
    print(f"  inline   median {inline:.3f} ms")
    print(f"  process  median {process:.3f} ms")
    print(f"  added by process isolation: {process - inline:.3f} ms (target <= 2 ms)")

    import execution.tool_runner as tool_runner

    hosted("process")
    for label, file_payload_bytes in (
        ("through /dev/shm (as shipped)", tool_runner.FILE_PAYLOAD_BYTES),
        ("pickled into the task", 1 << 40),
    ):
        tool_runner.FILE_PAYLOAD_BYTES = file_payload_bytes
        image = noise_png(20 * MIB)  # made first: making it costs more than sending it
        before = rss_kib("VmRSS")
        reset_peak()
        run_once(image)
        peak = rss_kib("VmHWM")
        held = (peak - before) * 1024 + len(image)  # the image itself, and what the run added
        print(
            f"20 MB image ({len(image) / MIB:.1f} MiB) {label}: parent peak RSS "
            f"{peak / 1024:.0f} MiB; the image and what the run added: {held / MIB:.1f} MiB "
            f"= {held / len(image):.2f}x the image (target <= 3x)"
        )
        del image


if __name__ == "__main__":
    main()
