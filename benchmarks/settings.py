"""The project's settings plus what only the benchmarks need: the no-op plugin and the bare
endpoint's URLconf. Production never loads this module."""

import copy
import os
from pathlib import Path

from execution_project.settings import *  # noqa: F403
from execution_project.settings import DATABASES, EXECUTION, SQLITE_ENGINE

EXECUTION = {**EXECUTION, "PLUGINS": [*EXECUTION["PLUGINS"], "benchmarks.noop.NoopPlugin"]}
ROOT_URLCONF = "benchmarks.urls"

# The jobs-table benchmarks (benchmarks/routing.py): a database per table size, like the default.
if os.environ.get("BENCH_TABLE_SIZES"):
    for _size in os.environ["BENCH_TABLE_SIZES"].split(","):
        _database = copy.deepcopy(DATABASES["default"])
        if _database["ENGINE"] == SQLITE_ENGINE:
            _database["NAME"] = str(Path(_database["NAME"]).with_suffix(f".{_size}.sqlite3"))
        else:
            _database.setdefault("OPTIONS", {})["options"] = f"-c search_path=size_{_size}"
        DATABASES[f"size_{_size}"] = _database
    DATABASE_ROUTERS = ["benchmarks.routing.TableSizeRouter"]
