# scan-as: execution/services/plugin_execution.py
def execute(catalog, payload):
    return catalog["faces"].run(payload)  # expect: EXE001
