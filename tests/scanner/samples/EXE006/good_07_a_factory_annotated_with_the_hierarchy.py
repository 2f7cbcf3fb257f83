# scan-as: execution/services/plugin_execution.py
from execution.exceptions import PluginError


def failure_for(error: Exception) -> PluginError:
    return PluginError(str(error))


def run(call):
    try:
        return call()
    except LookupError as error:
        raise failure_for(error) from error
