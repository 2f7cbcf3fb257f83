# scan-as: execution/services/job_execution.py
def execute(plugin: "ToolRunner(", payload):
    return plugin.run(payload)  # expect: EXE001
