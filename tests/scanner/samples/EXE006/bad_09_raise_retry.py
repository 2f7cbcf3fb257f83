# scan-as: execution/services/job_execution.py
class Retry(Exception):
    pass


def execute():
    raise Retry()  # expect: EXE006
