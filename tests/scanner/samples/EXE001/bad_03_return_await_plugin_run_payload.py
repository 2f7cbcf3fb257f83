# scan-as: execution/services/job_execution.py
async def execute(plugin, payload):
    return await plugin.run(payload)  # expect: EXE001
