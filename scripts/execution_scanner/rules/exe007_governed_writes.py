"""EXE007: a job's status and a plugin's state and metrics are written only by their services.

The services check the current state before moving it and keep the counters atomic; a view, a
serializer, the admin, a task or a command writing these fields skips both. A write is a store
(``job.status = ...``, ``setattr``), a keyword of an ORM write (``update``, ``create``, the
``defaults`` of ``update_or_create``...) or any write through PluginMetricsBucket.
"""

import ast
from collections.abc import Iterator

from ..engine import Finding, Rule, Tree, matches
from ..names import Module, terminal

JOBS, REGISTRY = "execution/services/**", "registry/services.py"
OWNERS = {  # field -> the only files that may write it
    "status": JOBS,
    **dict.fromkeys(["state", "success_count", "error_count", "plugin_fault_count"], REGISTRY),
    **dict.fromkeys(
        ["input_refused_count", "consecutive_failures", "circuit_open_until"], REGISTRY
    ),
    **dict.fromkeys(["total_execution_time_ms", "last_execution_time_ms"], REGISTRY),
    **dict.fromkeys(["avg_execution_time_ms", "last_used", "metrics_reset_at"], REGISTRY),
    **dict.fromkeys(["metrics_reset_by", "PluginMetricsBucket"], REGISTRY),  # the model: any write
}
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
        dicts = [keyword.value] if keyword.arg in (None, "defaults", "create_defaults") else []
        for value in [*dicts, *(v for v, _ in module.assigned(keyword.value, scope))]:
            for key in value.keys if isinstance(value, ast.Dict) else []:
                yield module.const_str(key, scope) or "", keyword
    for field in (
        ast.walk(call.args[1]) if terminal(call) == "bulk_update" and call.args[1:] else ()
    ):
        yield module.const_str(field, scope) or "", field


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    writes = [(s.name, s.node) for s in module.stores.values() if s.attribute]
    for call in (n for n in module.nodes if isinstance(n, ast.Call)):
        if terminal(call) in ORM_WRITES | MODELS:
            writes += _orm_writes(module, call)
    for field, node in writes:
        if field in OWNERS and not matches(module.path, [OWNERS[field]]):
            yield node, f"writes `{field}` outside {OWNERS[field]}"


WHY = "job status, plugin state and metrics change only in their services, which check the "
WHY += "current state first and keep the counters atomic"
# Benchmarks fill a scratch database with rows in every state, as fixtures do in tests.
BENCHMARKS = ("benchmarks/**",)
RULE = Rule("EXE007", WHY, ("**",), BENCHMARKS, __file__, (JOBS, REGISTRY), check=_check)
