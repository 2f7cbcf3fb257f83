# scan-as: execution/services/plugin_execution.py
from rest_framework.exceptions import NotFound


def plugin_for(name):
    raise NotFound(name)  # expect: EXE006
