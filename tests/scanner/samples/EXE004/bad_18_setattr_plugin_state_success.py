# scan-as: registry/services.py
def mark_done(plugin):
    setattr(plugin, "state", "SUCCESS")  # expect: EXE004
