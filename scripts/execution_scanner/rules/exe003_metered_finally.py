"""EXE003: ``ToolRunner.run`` (found wherever its module is) meters every execution.

Before its ``try``, and in its ``finally`` before ``update_execution_metrics``, only statements
that cannot raise; after it, at most ``return x``; every plugin run of its module inside the try.
"""

import ast
from collections.abc import Iterator, Sequence

from ..engine import Finding, Rule, Tree, Violation, matches
from ..names import FUNCTIONS, Module, short, terminal
from . import exe001_plugin_run as plugin_run

METRICS_CALL = "update_execution_metrics"
CLOCKS = {"monotonic", "perf_counter", "time", "now"}
# Helpers of the ToolRunner's module reviewed as unable to raise for any argument of their
# annotated types (mypy checks the types). Each must exist: a stale name is a violation.
CANNOT_RAISE = {"_lifecycle_after", "_metrics_of"}
# Plain assignments of constants, names, attributes, sums and products (no division: it raises).
# fmt: off
SAFE: tuple[type[ast.AST], ...] = (
    ast.Pass, ast.Assign, ast.AnnAssign, ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.List,
    ast.Dict, ast.keyword, ast.expr_context, ast.BoolOp, ast.boolop, ast.UnaryOp, ast.unaryop,
    ast.Compare, ast.cmpop, ast.IfExp, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
)
# fmt: on


def _cannot_raise(node: ast.AST, local_classes: set[str]) -> bool:
    """Only SAFE nodes, and calls only of clocks, the module's classes and reviewed helpers."""
    for part in ast.walk(node):
        if isinstance(part, ast.Call):
            if terminal(part.func) not in CLOCKS | CANNOT_RAISE | local_classes:
                return False
        elif not isinstance(part, SAFE) or getattr(part, "attr", "") == "run":
            return False
    return True


def _opens_transaction(statement: ast.With) -> bool:
    """``with transaction.atomic():`` only: the metrics and the job's record commit together, and
    entering it fails only when the database is away, which the ToolRunner defers as a whole."""
    return all(
        isinstance(item.context_expr, ast.Call) and terminal(item.context_expr.func) == "atomic"
        for item in statement.items
    )


def _unmetered(statements: Sequence[ast.stmt], local: set[str]) -> ast.stmt | None:
    """The first statement of a ``finally`` that may raise or skip the metrics; None if none."""
    for statement in statements:
        call = getattr(statement, "value", None)
        call = call.value if isinstance(call, ast.Await) else call
        if isinstance(call, ast.Call) and terminal(call.func) == METRICS_CALL:
            arguments = [*call.args, *call.keywords]
            return None if all(_cannot_raise(a, local) for a in arguments) else statement
        if isinstance(statement, ast.Try) and _unmetered(statement.body, local) is None:
            return None
        if (
            isinstance(statement, ast.With)
            and _opens_transaction(statement)
            and _unmetered(statement.body, local) is None
        ):
            return None
        if not _cannot_raise(statement, local):
            return statement
    return statements[0] if statements else None


def _shape(run: ast.FunctionDef | ast.AsyncFunctionDef, local: set[str]) -> Finding | ast.Try:
    """What is wrong with the shape of ``run``; else its metered ``try``."""
    body = run.body[1:] if ast.get_docstring(run) is not None else run.body
    first = next((i for i, statement in enumerate(body) if isinstance(statement, ast.Try)), None)
    if first is None:
        return run, "ToolRunner.run has no top-level try/finally"
    metered, rest = body[first], body[first + 1 :]
    assert isinstance(metered, ast.Try)
    if early := next((s for s in body[:first] if not _cannot_raise(s, local)), None):
        return early, f"`{short(early)}` comes before the try, so its failures go unmetered"
    if not metered.finalbody:
        return metered, "the try of ToolRunner.run has no finally"
    if late := _unmetered(metered.finalbody, local):
        return late, f"the finally must open with {METRICS_CALL}: `{short(late)}` may raise first"
    returned = rest[0].value if len(rest) == 1 and isinstance(rest[0], ast.Return) else None
    if rest and not isinstance(returned, ast.Name | ast.Attribute | ast.Constant | None):
        return rest[0], "only `return <name>` may follow the metered try"
    return metered


def _classes(module: Module, name: str | None = None) -> list[ast.ClassDef]:
    return [n for n in module.tree.body if isinstance(n, ast.ClassDef) and name in (None, n.name)]


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    local = {cls.name for cls in _classes(module)}
    for cls in _classes(module, "ToolRunner"):
        run = next((s for s in cls.body if isinstance(s, FUNCTIONS) and s.name == "run"), None)
        shape = _shape(run, local) if run is not None else None
        if run is None and matches(module.path, plugin_run.PLUGIN_HOSTS):
            yield cls, "ToolRunner has no `run` method"
        elif isinstance(shape, tuple):
            yield shape
        elif shape is not None:
            for node, _ in plugin_run.plugin_runs(module):
                if not module.inside(node, shape):
                    yield node, f"`{short(node)}` runs a plugin outside the metered try"


def _check_tree(tree: Tree) -> Iterator[Violation]:
    """Plugin hosts or an execution package need a ToolRunner; a project, the reviewed helpers."""
    hosts = sorted(path for path in tree.paths if matches(path, plugin_run.PLUGIN_HOSTS))
    hosts += sorted({"execution/__init__.py"} & tree.paths)
    runners = [module for module in tree.modules if _classes(module, "ToolRunner")]
    if hosts and not runners:
        yield RULE.violation(hosts[0], 1, 1, "no class ToolRunner in the tree")
    defined = {n.name for m in runners for n in m.tree.body if isinstance(n, FUNCTIONS)}
    for name in sorted(CANNOT_RAISE - defined) if "manage.py" in tree.paths else ():
        yield RULE.stale(name, f"{name} is not a function of the ToolRunner's module")


WHY = "ToolRunner.run records metrics in a finally that covers every path: no execution uncounted"
RULE = Rule("EXE003", WHY, ("**",), (), __file__, check=_check, check_tree=_check_tree)
