# scan-as: execution/__init__.py  # expect: EXE003
