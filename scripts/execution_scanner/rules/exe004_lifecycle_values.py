"""EXE004: plugin states and job statuses are PluginState / JobStatus members, never strings. A
valid string is flagged too: only the enum keeps a renamed member from going unnoticed."""

import ast
from collections.abc import Iterator

from ..engine import Finding, Rule, Tree
from ..names import Module, terminal

ENUMS = {
    "PluginState": ("LOADED", "INITIALIZED", "RUNNING", "FAILED", "UNAVAILABLE"),
    "JobStatus": ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"),
}
SLOTS = {"state": "PluginState", "status": "JobStatus"}  # a name ending so -> its enum
NOT_STATES = {"SUCCESS", "ERROR", "SUCCEEDED", "ERRORED"}  # metrics, never states


def _enum(name: str | None) -> str | None:
    """``state``, ``plugin_state``, ``state__in`` -> PluginState; ``status``, ``job_status``..."""
    parts = (name or "").lower().split("__")
    found = [enum for slot, enum in SLOTS.items() for p in parts if p.rpartition("_")[2] == slot]
    return found[0] if found else None


def _name(expr: ast.AST | None) -> str:
    return terminal(expr) if isinstance(expr, ast.Name | ast.Attribute) else ""


def _literals(expr: ast.AST | None, enum: str | None) -> Iterator[Finding]:
    for element in expr.elts if isinstance(expr, ast.Tuple | ast.List | ast.Set) else [expr]:
        if enum and isinstance(element, ast.Constant) and isinstance(element.value, str):
            value, members = element.value, ENUMS[enum]
            if value.upper() in members:
                yield Finding(element, f"raw literal {value!r}: use {enum}.{value.upper()}")
            else:
                yield Finding(element, f"{value!r} is not a {enum} member ({', '.join(members)})")


def _dict(module: Module, node: ast.Dict, *, unpacked: bool) -> Iterator[Finding]:
    """Keys "state" in any dict; "status" only in a dict unpacked into a call, where each key is a
    keyword: ``{"status": "ok"}`` is everyday HTTP JSON, not a job status."""
    for key, value in zip(node.keys, node.values, strict=True):
        enum = _enum(module.const_str(key, module.scope_of(node)))
        if enum == "PluginState" or unpacked:
            yield from _literals(value, enum)


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for store in module.stores:  # state = "...", job.status = "...", setattr(...)
        yield from _literals(store.value, _enum(store.name))
        for keyword in getattr(store.value, "keywords", []):  # CharField(default="...")
            if keyword.arg in ("default", "db_default"):
                yield from _literals(keyword.value, _enum(store.name))
    for node in module.nodes:
        if isinstance(node, ast.keyword) and node.arg:
            yield from _literals(node.value, _enum(node.arg))
        elif isinstance(node, ast.keyword):  # f(**{"status": ...}) and f(**values)
            for value in module.dicts(node.value, module.scope_of(node)):
                yield from _dict(module, value, unpacked=True)
        elif isinstance(node, ast.Dict):
            yield from _dict(module, node, unpacked=False)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            enum = next(filter(None, (_enum(_name(operand)) for operand in operands)), None)
            for operand in operands:  # only literals are reported: the slot itself is no literal
                yield from _literals(operand, enum)
        elif isinstance(node, ast.Match) and (enum := _enum(_name(node.subject))):
            for pattern in (p for case in node.cases for p in ast.walk(case.pattern)):
                yield from _literals(getattr(pattern, "value", None), enum)
        elif isinstance(node, ast.Call) and terminal(node.func) in ENUMS:  # PluginState("...")
            for argument in node.args:
                yield from _literals(argument, terminal(node.func))
        elif isinstance(node, ast.Subscript) and _name(node.value) in ENUMS:  # PluginState["..."]
            yield from _literals(node.slice, _name(node.value))
        elif isinstance(node, ast.ClassDef) and node.name in ENUMS:
            yield from _definition(node)


def _definition(enum: ast.ClassDef) -> Iterator[Finding]:
    """Exactly the five members; and ``FAILED = "ERROR"`` stores a state that is not one."""
    assigns = [s for s in enum.body if isinstance(s, ast.Assign)]
    members = [t.id for s in assigns for t in s.targets if isinstance(t, ast.Name)]
    expected = ENUMS[enum.name]
    if sorted(m for m in members if not m.startswith("_")) != sorted(expected):
        detail = f"{enum.name} defines {', '.join(members)}; exactly {', '.join(expected)}"
        yield Finding(enum, detail)
        return
    for statement in assigns if enum.name == "PluginState" else []:
        value = statement.value
        stored = getattr(value.elts[0] if isinstance(value, ast.Tuple) else value, "value", None)
        if isinstance(stored, str) and stored.upper() in NOT_STATES:
            yield Finding(statement, f"PluginState stores {stored!r}, which is not a state")


WHY = "plugin states and job statuses are only PluginState/JobStatus members: five known values"
RULE = Rule("EXE004", WHY, ("registry/**", "execution/**"), __file__, check=_check)
