"""EXE007: a job's status and a plugin's state and metrics are written only by their services, which
check the current state before moving it and keep the counters atomic."""

import ast
from collections.abc import Iterator

from ..engine import EVERYTHING, Finding, Rule, Tree
from ..names import Module, terminal

PLUGIN_FIELDS: tuple[str, ...] = ("state", "success_count", "error_count", "plugin_fault_count")
PLUGIN_FIELDS += ("input_refused_count", "consecutive_failures", "circuit_open_until")
PLUGIN_FIELDS += ("total_execution_time_ms", "last_execution_time_ms", "avg_execution_time_ms")
PLUGIN_FIELDS += ("last_used", "metrics_reset_at", "metrics_reset_by")
PLUGIN_FIELDS += ("PluginMetricsBucket",)  # the model: any write through it
SERVICES = {"execution/services/**": ("status",), "registry/services.py": PLUGIN_FIELDS}
OWNERS = {field: services for services, fields in SERVICES.items() for field in fields}
# Benchmarks fill a scratch database with rows in every state, as fixtures do in tests.
ALLOW = {**SERVICES, "benchmarks/**": EVERYTHING}
MODELS = {"Job", "PluginRegistry", "PluginMetricsBucket"}  # constructing one writes its fields
ORM_WRITES = {"update", "create", "get_or_create", "update_or_create", "bulk_create", "delete"}
ORM_WRITES |= {"bulk_update", "save", "aupdate", "acreate", "aupdate_or_create", "adelete"}


def _orm_writes(module: Module, call: ast.Call) -> Iterator[tuple[str, ast.AST]]:
    """The fields (and the model) an ORM write or a model's constructor writes."""
    receiver: ast.expr = call.func  # PluginMetricsBucket.objects.filter(...).update(...)
    while isinstance(receiver, ast.Attribute | ast.Call):
        receiver = receiver.value if isinstance(receiver, ast.Attribute) else receiver.func
    yield terminal(receiver), call
    scope = module.scope_of(call)
    for keyword in call.keywords:
        yield keyword.arg or "", keyword
        unpacked = keyword.arg in (None, "defaults", "create_defaults")
        for value in module.dicts(keyword.value, scope) if unpacked else ():
            for key in value.keys:
                yield module.const_str(key, scope) or "", keyword
    fields = call.args[1] if terminal(call) == "bulk_update" and call.args[1:] else None
    for field in ast.walk(fields) if fields else ():
        yield module.const_str(field, scope) or "", field


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    writes = [(store.name, store.node) for store in module.stores if store.attribute]
    for call in (n for n in module.nodes if isinstance(n, ast.Call)):
        if terminal(call) in ORM_WRITES | MODELS:
            writes += _orm_writes(module, call)
    for field, node in writes:
        if field in OWNERS:
            yield Finding(node, f"writes `{field}` outside {OWNERS[field]}", field)


WHY = "only the services check the current state before moving it and keep the counters atomic"
RULE = Rule("EXE007", WHY, ("**",), __file__, ALLOW, _check)
