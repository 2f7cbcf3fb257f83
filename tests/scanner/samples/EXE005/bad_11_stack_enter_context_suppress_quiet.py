# scan-as: execution/services/job_execution.py
from contextlib import ExitStack, suppress

QUIET = (KeyError, Exception)


def execute(calls):
    with ExitStack() as stack:
        stack.enter_context(suppress(*QUIET))  # expect: EXE005
        for call in calls:
            call()
