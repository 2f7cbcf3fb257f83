# scan-as: execution/tasks.py
import functools


def schedule(plugin, payload):
    return functools.partial(plugin.run, payload)  # expect: EXE001
