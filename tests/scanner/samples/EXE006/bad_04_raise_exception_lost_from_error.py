# scan-as: execution/services/job_execution.py
def execute(call):
    try:
        return call()
    except KeyError as error:
        raise Exception("lost") from error  # expect: EXE006
