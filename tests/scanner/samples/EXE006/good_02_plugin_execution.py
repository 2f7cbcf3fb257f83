# scan-as: execution/services/plugin_execution.py
# with: execution/exceptions.py
from execution import exceptions


class SlowPlugin(exceptions.PluginError):
    code = "PLUGIN_SLOW"


def check(elapsed, build_failure):
    if elapsed > 5:
        raise SlowPlugin()
    try:
        return elapsed / 2
    except ZeroDivisionError as error:
        raise build_failure(error) from error
