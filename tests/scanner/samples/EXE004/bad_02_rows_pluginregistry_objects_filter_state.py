# scan-as: registry/services.py
ROWS = PluginRegistry.objects.filter(state="success")  # expect: EXE004
