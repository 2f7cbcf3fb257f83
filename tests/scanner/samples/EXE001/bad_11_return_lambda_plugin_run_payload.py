# scan-as: execution/tasks.py
def schedule(plugin, payload):
    return lambda: plugin.run(payload)  # expect: EXE001
