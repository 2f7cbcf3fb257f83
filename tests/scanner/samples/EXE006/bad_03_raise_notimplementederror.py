# scan-as: execution/envelope.py
def f():
    raise NotImplementedError  # expect: EXE006
