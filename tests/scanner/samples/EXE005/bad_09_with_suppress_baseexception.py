# scan-as: execution/services/job_execution.py
from contextlib import suppress


def execute(call, payload):
    with suppress(BaseException):  # expect: EXE005
        return call(payload)
