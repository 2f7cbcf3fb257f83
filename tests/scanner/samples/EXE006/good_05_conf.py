# scan-as: execution/conf.py
class ExecutionSettings:
    def __getattr__(self, name):
        raise AttributeError(name)
