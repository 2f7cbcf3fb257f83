"""EXE001: only the ToolRunner runs plugins. Whether a receiver is a plugin cannot be decided from
the AST, so any reference to an attribute ``run`` is a plugin run unless its receiver is provably
something else; a plugin where a ToolRunner is typed is mypy's (tests/scanner/samples/mypy/)."""

import ast
from collections.abc import Iterator

from ..engine import EVERYTHING, Finding, Rule, Tree
from ..names import FUNCTIONS, UNKNOWN, Module, short, terminal

RUNNERS = {"execution.tool_runner.ToolRunner", "execution.tool_runner"}  # and its module's run
# Where plugins run: the ToolRunner's module and its worker processes' entry point.
PLUGIN_HOSTS = ("execution/tool_runner/__init__.py", "execution/tool_runner/child.py")
RUNNER_CALL = "ToolRunner.run"  # the key of a call of the ToolRunner's own run
# The governed path: only the services call the ToolRunner's own run.
ALLOW = {**dict.fromkeys(PLUGIN_HOSTS, EVERYTHING), "execution/services/**": (RUNNER_CALL,)}
# Whose run is not a plugin's: modules (``subprocess.run``) and classes (``Thread(...).run()``).
NOT_PLUGINS = {"subprocess", "asyncio", "trio", "anyio", "threading.Thread", "threading.Timer"}
NOT_PLUGINS |= {"multiprocessing.Process"}
ACCESSORS = {"getattr", "getattr_static", "__getattribute__", "__getattr__", "attrgetter"}
ACCESSORS |= {"methodcaller"}


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in module.nodes:
        scope = module.scope_of(node)
        if isinstance(node, ast.Attribute) and node.attr == "run":
            receiver = node.value
            found = module.values(receiver, scope) - {"None"} or {UNKNOWN}
            if found <= RUNNERS:
                detail = f"`{short(receiver)}.run` calls the ToolRunner outside execution/services/"
                yield Finding(node, detail, RUNNER_CALL)
            elif not found <= NOT_PLUGINS and not _delegates(module, receiver, scope):
                yield Finding(node, f"`{short(receiver)}.run` is not on a provable ToolRunner")
        elif isinstance(node, ast.Call) and terminal(node.func) in ACCESSORS:
            names = [module.const_str(argument, scope) or "" for argument in node.args]
            if name := next((name for name in names if "run" in name.split(".")), None):
                yield Finding(node, f"`{terminal(node)}(..., {name!r})` reaches a `run` by name")
        elif isinstance(node, ast.Subscript) and module.const_str(node.slice, scope) == "run":
            space = node.value  # ``x.__dict__`` or ``vars(x)``
            if terminal(space) == ("vars" if isinstance(space, ast.Call) else "__dict__"):
                yield Finding(node, f"`{short(node)}` reaches a `run` through the instance dict")
        elif isinstance(node, ast.MatchClass) and "run" in node.kwd_attrs:
            yield Finding(node, "a class pattern `run=` captures a bound `run`")


def _delegates(module: Module, receiver: ast.expr, scope: ast.AST) -> bool:
    """``super().run(...)`` or ``self.run(...)`` in the class's own ``run``: whoever runs the
    outer call governs it. Any other method calling ``self.run`` is a plugin run."""
    is_run = isinstance(scope, FUNCTIONS) and scope.name == "run"
    is_super = isinstance(receiver, ast.Call) and terminal(receiver.func) == "super"
    is_self = [binding.method for binding in module.lookup(receiver, scope)] == [scope]
    return is_run and isinstance(module.parents.get(scope), ast.ClassDef) and (is_super or is_self)


WHY = "plugins run only inside ToolRunner.run, which validates, contains and meters every execution"
RULE = Rule("EXE001", WHY, ("**",), __file__, ALLOW, _check)
