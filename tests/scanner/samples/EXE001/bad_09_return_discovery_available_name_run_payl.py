# scan-as: execution/api/views.py
def analyse(discovery, name, payload):
    return discovery.available[name].run(payload)  # expect: EXE001
