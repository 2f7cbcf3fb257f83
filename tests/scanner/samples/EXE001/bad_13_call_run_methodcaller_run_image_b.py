# scan-as: execution/tasks.py
from operator import methodcaller

call_run = methodcaller("run", {"image": b""})  # expect: EXE001
