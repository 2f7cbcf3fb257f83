"""EXE002: the edges (views, API, tasks, admin, commands) never see the ToolRunner, or they could
run a plugin outside a job; the import contracts catch a direct import only, not a re-export."""

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
        if isinstance(node, ast.Import | ast.ImportFrom):  # what it imports, relative ones resolved
            base = "" if isinstance(node, ast.Import) else module.absolute(node.module, node.level)
            if any(_names_runner(f"{base}.{alias.name}") for alias in node.names):
                yield Finding(node, f"`{short(node)}` reaches the ToolRunner")
        elif isinstance(node, ast.Call) and terminal(node.func) in ("import_module", "__import__"):
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]  # package=
            names = [module.const_str(a, module.scope_of(node)) or "" for a in arguments]
            if name := next((name for name in names if _names_runner(name)), None):
                yield Finding(node, f"importing {name!r} by name reaches the ToolRunner")
        elif isinstance(node, ast.Name) and node.id == "ToolRunner":
            yield Finding(node, "`ToolRunner` is used here")
        elif isinstance(node, ast.Attribute) and node.attr in RUNNER_NAMES:
            outer = getattr(module.parents[node], "attr", None)  # a.tool_runner.ToolRunner: once
            if outer not in RUNNER_NAMES:
                yield Finding(node, f"`{short(node)}` reaches the ToolRunner")


WHY = "views, API, tasks, admin, commands go through execution.services, which own jobs and errors"
SCOPE = tuple(f"**/{edge}" for edge in EDGES)
RULE = Rule("EXE002", WHY, SCOPE, __file__, {"execution/services/**": EVERYTHING}, _check)
