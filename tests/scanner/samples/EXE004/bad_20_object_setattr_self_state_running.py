# scan-as: registry/services.py
class Snapshot:
    def __init__(self):
        object.__setattr__(self, "state", "RUNNING")  # expect: EXE004
