# scan-as: execution/services/job_execution.py
# with: execution/exceptions.py
from execution.exceptions import Envelope


def execute():
    raise Envelope()  # expect: EXE006
