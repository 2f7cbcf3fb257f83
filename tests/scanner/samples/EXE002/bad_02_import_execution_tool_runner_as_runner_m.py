# scan-as: execution/api/jobs.py
import execution.tool_runner as runner_module  # expect: EXE002
