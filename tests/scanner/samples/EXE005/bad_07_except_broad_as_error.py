# scan-as: execution/services/job_execution.py
BROAD = (OSError, Exception)


def execute(call, payload, logger):
    try:
        return call(payload)
    except BROAD as error:  # expect: EXE005
        def report():
            logger.exception("failed")
