# scan-as: registry/services.py
def break_plugin(name):
    PluginRegistry.objects.filter(name=name).update(**{"state": "ERROR"})  # expect: EXE004
