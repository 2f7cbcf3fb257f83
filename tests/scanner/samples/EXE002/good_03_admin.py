# scan-as: registry/admin.py
from registry.models import PluginRegistry
