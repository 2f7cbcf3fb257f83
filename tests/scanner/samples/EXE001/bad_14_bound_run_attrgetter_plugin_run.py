# scan-as: execution/tasks.py
from operator import attrgetter

bound_run = attrgetter("plugin.run")  # expect: EXE001
