# scan-as: execution/broken.py
def broken(:  # expect: EXE000
    pass
