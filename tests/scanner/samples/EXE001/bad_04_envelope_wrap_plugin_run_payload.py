# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    envelope = wrap(plugin.run(payload))  # expect: EXE001
    return envelope
