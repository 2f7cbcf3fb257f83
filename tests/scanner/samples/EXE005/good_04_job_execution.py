# scan-as: execution/services/job_execution.py
from execution.envelope import build_envelope


def execute(call, payload, release):
    try:
        return call(payload)
    except (ValueError, OSError):
        image = None
    try:
        return call(image)
    except Exception as error:
        outcome = build_envelope(error)
    try:
        return call(payload)
    except BaseException:
        release()
        raise
    return outcome
