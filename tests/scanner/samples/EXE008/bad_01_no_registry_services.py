# scan-as: manage.py
# with: execution/tool_runner.py from ../EXE003/good_04_helpers_that_cannot_raise.py
# with: execution/services/__init__.py from empty.py
# with: execution/management/commands/noop.py from empty.py
# with: execution/api/views.py from empty.py
# with: execution/api/serializers.py from empty.py
# with: execution/models.py from empty.py
# with: execution/admin.py from empty.py
# expect: EXE008 at scripts/execution_scanner/rules/exe007_governed_writes.py
