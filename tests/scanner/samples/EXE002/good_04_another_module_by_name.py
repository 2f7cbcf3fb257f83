# scan-as: execution/tasks.py
from importlib import import_module


def services():
    return import_module("execution.services")
