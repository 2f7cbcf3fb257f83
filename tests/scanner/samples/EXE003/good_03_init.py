# scan-as: execution/__init__.py
# with: execution/tool_runner.py from ../EXE003/good_01_tool_runner.py
