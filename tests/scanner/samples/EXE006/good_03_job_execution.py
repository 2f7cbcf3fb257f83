# scan-as: execution/services/job_execution.py
from execution.errors import failure_for


def run_job(job, execute):
    try:
        return execute(job)
    except KeyError:
        raise
    except LookupError as error:
        raise failure_for(error) from None
