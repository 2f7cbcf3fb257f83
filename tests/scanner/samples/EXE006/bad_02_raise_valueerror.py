# scan-as: execution/validation.py
def f():
    raise ValueError  # expect: EXE006
