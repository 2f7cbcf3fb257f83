"""EXE001: only the ToolRunner runs plugins.

"Is this a plugin?" cannot be decided from the AST, so the question is turned around: any
reference to an attribute ``run`` is a plugin run unless the receiver is provably something else.
Referencing the bound method is the violation, which covers calls, aliases, ``lambda`` and
``partial`` alike; reaching ``run`` by name (``getattr``, ``vars``, ``match``) is caught too.
"""

import ast
from collections.abc import Iterator

from ..engine import Finding, Rule, Tree, matches
from ..names import FUNCTIONS, NONE, Module, short, terminal

TOOL_RUNNER = "execution.tool_runner.ToolRunner"
TOOL_RUNNER_MODULE = "execution.tool_runner"
# Where a plugin's run may be called. As a package this becomes the ToolRunner's module and its
# worker's entry point: "execution/tool_runner/__init__.py", "execution/tool_runner/child.py".
PLUGIN_HOSTS = ("execution/tool_runner/__init__.py", "execution/tool_runner/child.py")
# The governed path: only here may the ToolRunner's own run be called.
RUNNER_CALLERS = ("execution/services/**",)
# Whose run is not a plugin's: modules (``subprocess.run``) and classes (``Thread(...).run()``).
NOT_PLUGINS = frozenset({"subprocess", "asyncio", "trio", "anyio", "threading.Thread"})
NOT_PLUGINS |= {"threading.Timer", "multiprocessing.Process"}
ACCESSORS = frozenset({"getattr", "getattr_static", "__getattribute__", "__getattr__"})
ACCESSORS |= {"attrgetter", "methodcaller"}


def plugin_runs(module: Module) -> Iterator[Finding]:
    """Every place of ``module`` where a plugin's ``run`` may be reached."""
    for node in module.nodes:
        if detail := _problem(module, node, module.scope_of(node)):
            yield node, detail


def _problem(module: Module, node: ast.AST, scope: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and node.attr == "run":
        if not isinstance(node.ctx, ast.Load):
            return f"`{short(node)}` is replaced, so the ToolRunner would call that"
        return _receiver(module, node.value, scope)
    if isinstance(node, ast.Call) and terminal(node.func) in ACCESSORS:
        for argument in node.args:
            name = module.const_str(argument, scope)
            if name is not None and "run" in name.split("."):
                return f"`{terminal(node.func)}(..., {name!r})` reaches a `run` by name"
    if isinstance(node, ast.Subscript) and module.const_str(node.slice, scope) == "run":
        space = node.value
        if terminal(space) == "__dict__" or (
            isinstance(space, ast.Call) and terminal(space) == "vars"
        ):
            return f"`{short(node)}` reaches a `run` through the instance dict"
    if isinstance(node, ast.MatchClass) and "run" in node.kwd_attrs:
        return "a class pattern `run=` captures a bound `run`"
    return None


def _receiver(module: Module, receiver: ast.expr, scope: ast.AST) -> str | None:
    qualified = module.qualified(receiver, scope)
    if qualified in NOT_PLUGINS or _delegates(module, receiver, scope):
        return None
    types = module.types(receiver, scope) or NONE
    if types - NONE and types <= NOT_PLUGINS | NONE:
        return None
    if qualified == TOOL_RUNNER_MODULE or (types - NONE and types <= {TOOL_RUNNER, "None"}):
        if matches(module.path, RUNNER_CALLERS):
            return None
        return f"`{short(receiver)}.run` calls the ToolRunner outside execution/services/"
    return f"`{short(receiver)}.run` is not on a provable ToolRunner"


def _delegates(module: Module, receiver: ast.expr, scope: ast.AST) -> bool:
    """``super().run(...)`` or ``self.run(...)`` in the class's own ``run``: whoever runs the
    outer call governs it. Any other method calling ``self.run`` is a plugin run."""
    if not isinstance(scope, FUNCTIONS) or scope.name != "run":
        return False
    if isinstance(receiver, ast.Call) and terminal(receiver.func) == "super":
        return isinstance(module.parents.get(scope), ast.ClassDef)
    bindings = module.lookup(receiver.id, scope) if isinstance(receiver, ast.Name) else None
    return bindings is not None and [b.method for b in bindings] == [scope]


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    return plugin_runs(module)


WHY = "plugins run only inside ToolRunner.run, which validates, contains and meters every execution"
RULE = Rule("EXE001", WHY, ("**",), PLUGIN_HOSTS, __file__, RUNNER_CALLERS, check=_check)
