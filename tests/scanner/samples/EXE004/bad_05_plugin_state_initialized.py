# scan-as: registry/services.py
def ready(plugin):
    plugin.state = "INITIALIZED"  # expect: EXE004
