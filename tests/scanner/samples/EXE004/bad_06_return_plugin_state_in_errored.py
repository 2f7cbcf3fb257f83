# scan-as: execution/selectors.py
def broken(plugin):
    return plugin.state in ("ERRORED",)  # expect: EXE004
