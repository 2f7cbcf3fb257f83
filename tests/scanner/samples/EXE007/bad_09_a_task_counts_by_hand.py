# scan-as: execution/tasks.py
def count(row):
    row.plugin_fault_count += 1  # expect: EXE007
    row.input_refused_count = row.input_refused_count + 1  # expect: EXE007
    values = {"last_used": None}
    type(row).objects.filter(pk=row.pk).update(**values)  # expect: EXE007
