# scan-as: registry/services.py
def mark_done(plugin):
    plugin.state = "SUCCESS"  # expect: EXE004
    plugin.save()
