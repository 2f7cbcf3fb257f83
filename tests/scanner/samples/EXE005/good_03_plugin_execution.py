# scan-as: execution/services/plugin_execution.py
import contextlib
import os
from contextlib import suppress

from django.db import IntegrityError


def sync(registry_sync, pid, signum):
    with contextlib.suppress(IntegrityError):
        registry_sync()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
