# scan-as: registry/services.py
def describe(plugin):
    match plugin.state:
        case "ERROR":  # expect: EXE004
            return "broken"
    return "fine"
