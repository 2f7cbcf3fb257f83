# scan-as: manage.py
# with: execution/tool_runner.py from ../EXE003/good_01_tool_runner.py
# with: execution/services/__init__.py from empty.py
# with: execution/management/commands/noop.py from empty.py
# with: execution/api/views.py from empty.py
# with: execution/api/serializers.py from empty.py
# with: execution/models.py from empty.py
# with: execution/admin.py from empty.py
# with: registry/services.py from empty.py
# expect: EXE003 at scripts/execution_scanner/rules/exe003_metered_finally.py
