# scan-as: execution/services/plugin_execution.py
def execute(subprocess, payload):
    return subprocess.run(payload)  # expect: EXE001
