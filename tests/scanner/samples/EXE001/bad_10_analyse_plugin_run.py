# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    analyse = plugin.run  # expect: EXE001
    return analyse(payload)
