"""EXE002: the edges (views, API, tasks, admin, commands) never see the ToolRunner.

They go through ``execution.services``; an edge holding the ToolRunner could run a plugin outside
a job, and the import contracts only catch a direct import, not a re-export or ``import_module``.
"""

import ast
from collections.abc import Iterator

from ..engine import EVERYTHING, Finding, Rule, Tree
from ..names import Module, short, terminal

EDGES = ["views.py", "views/**", "api/**", "urls.py", "tasks.py", "tasks/**", "admin.py"]
EDGES += ["admin/**", "management/commands/**"]
RUNNER_NAMES = {"tool_runner", "ToolRunner"}


def _names_runner(dotted: str) -> bool:
    return bool(RUNNER_NAMES & set(dotted.split(".")))


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in module.nodes:
        if isinstance(node, ast.Import):
            if names := [alias.name for alias in node.names if _names_runner(alias.name)]:
                yield Finding(node, f"`import {names[0]}` reaches the ToolRunner")
        elif isinstance(node, ast.ImportFrom):
            source = module.absolute(node.module, node.level)
            names = [alias.name for alias in node.names]
            if _names_runner(source) or RUNNER_NAMES & set(names):
                detail = f"`from {source} import {', '.join(names)}` reaches the ToolRunner"
                yield Finding(node, detail)
        elif isinstance(node, ast.Call) and terminal(node.func) in ("import_module", "__import__"):
            scope = module.scope_of(node)
            name = module.const_str(node.args[0], scope) if node.args else None
            package = next((k.value for k in node.keywords if k.arg == "package"), None)
            if name and name.startswith(".") and package is not None:
                name = f"{module.const_str(package, scope) or ''}{name}"
            if name and _names_runner(name):
                yield Finding(node, f"importing {name!r} by name reaches the ToolRunner")
        elif isinstance(node, ast.Name) and node.id == "ToolRunner":
            yield Finding(node, "`ToolRunner` is used here")
        elif isinstance(node, ast.Attribute) and _outermost(module, node):
            yield Finding(node, f"`{short(node)}` reaches the ToolRunner")


def _outermost(module: Module, node: ast.Attribute) -> bool:
    """``a.tool_runner.ToolRunner`` is reported once, at its outermost runner name."""
    outer, parent = set(), module.parents.get(node)
    while isinstance(parent, ast.Attribute):
        outer.add(parent.attr)
        parent = module.parents.get(parent)
    return node.attr in RUNNER_NAMES and not RUNNER_NAMES & outer


WHY = "views, API, tasks, admin and commands go through execution.services, which own jobs and "
WHY += "errors; only the services hold the ToolRunner"
SCOPE = tuple(f"**/{edge}" for edge in EDGES)
RULE = Rule("EXE002", WHY, SCOPE, __file__, {"execution/services/**": EVERYTHING}, _check)
