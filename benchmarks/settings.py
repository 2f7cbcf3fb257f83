"""The project's settings plus what only the benchmarks need: the no-op plugin and the bare
endpoint's URLconf. Production never loads this module."""

from execution_project.settings import *  # noqa: F403
from execution_project.settings import EXECUTION

EXECUTION = {**EXECUTION, "PLUGINS": [*EXECUTION["PLUGINS"], "benchmarks.noop.NoopPlugin"]}
ROOT_URLCONF = "benchmarks.urls"
