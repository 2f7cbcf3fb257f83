# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    match plugin:
        case object(run=analyse):  # expect: EXE001
            return analyse(payload)
