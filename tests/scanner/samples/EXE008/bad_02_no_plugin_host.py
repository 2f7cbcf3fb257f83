# scan-as: manage.py
# with: execution/hosting/runner.py from runner_with_a_pool.py
# with: execution/services/__init__.py from empty.py
# with: execution/management/commands/noop.py from empty.py
# with: execution/api/views.py from empty.py
# with: execution/api/serializers.py from empty.py
# with: execution/models.py from empty.py
# with: execution/admin.py from empty.py
# with: registry/services.py from empty.py
# expect: EXE008 at scripts/execution_scanner/rules/exe001_plugin_run.py
