class ExecutionFailure(Exception):
    pass


class PluginError(ExecutionFailure):
    pass


class Envelope:
    pass
