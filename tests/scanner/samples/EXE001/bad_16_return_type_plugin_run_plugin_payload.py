# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    return type(plugin).run(plugin, payload)  # expect: EXE001
