# scan-as: registry/services.py
from registry.models import PluginState

state = PluginState("ERROR")  # expect: EXE004
