# scan-as: registry/selectors.py
ROWS = PluginRegistry.objects.exclude(state__in=("LOADED",))  # expect: EXE004
