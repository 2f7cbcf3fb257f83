"""EXE003: ``ToolRunner.run`` (wherever its module is) meters every execution: nothing that may
raise before its ``try`` or before the metrics in its ``finally``, and every plugin run inside."""

import ast
from collections.abc import Iterator, Sequence

from ..engine import Finding, Rule, Tree, Violation, matches
from ..names import FUNCTIONS, Module, short, terminal
from . import exe001_plugin_run as plugin_run

METRICS_CALL = "update_execution_metrics"
CLOCKS = {"monotonic", "perf_counter", "time", "now"}
# Helpers of the ToolRunner's module reviewed as unable to raise; a stale name is a violation.
CANNOT_RAISE = {"_lifecycle_after", "_metrics_of"}
# Plain assignments of constants, names, attributes, sums and products (no division: it raises).
SAFE: tuple[type[ast.AST], ...] = (ast.Pass, ast.Assign, ast.AnnAssign, ast.Constant, ast.Name)
SAFE += (ast.Attribute, ast.Tuple, ast.List, ast.Dict, ast.keyword, ast.expr_context, ast.BoolOp)
SAFE += (ast.boolop, ast.UnaryOp, ast.unaryop, ast.Compare, ast.cmpop, ast.IfExp, ast.BinOp)
SAFE += (ast.Add, ast.Sub, ast.Mult)
# Where a ToolRunner must exist: its module, its workers' entry point, the execution package.
NEEDS_A_RUNNER = (*plugin_run.PLUGIN_HOSTS, "execution/__init__.py")


def _cannot_raise(node: ast.AST, calls: set[str]) -> bool:
    """Only SAFE nodes, and calls only of clocks, the module's classes and reviewed helpers."""
    for part in ast.walk(node):
        ok = terminal(part.func) in calls if isinstance(part, ast.Call) else isinstance(part, SAFE)
        if not ok or getattr(part, "attr", "") == "run":
            return False
    return True


def _unmetered(statements: Sequence[ast.stmt], calls: set[str]) -> ast.stmt | None:
    """The first statement of a ``finally`` that may raise or skip the metrics; None if none."""
    for statement in statements:
        call = getattr(statement, "value", None)
        call = call.value if isinstance(call, ast.Await) else call
        if isinstance(call, ast.Call) and terminal(call.func) == METRICS_CALL:
            arguments = [*call.args, *call.keywords]
            return None if all(_cannot_raise(a, calls) for a in arguments) else statement
        # A try, or `with transaction.atomic():` (a transaction of the ToolRunner's own).
        context = {short(item.context_expr) for item in getattr(statement, "items", [])}
        nested = isinstance(statement, ast.Try) or context == {"transaction.atomic()"}
        if nested and _unmetered(statement.body, calls) is None:  # type: ignore[attr-defined]
            return None
        if not _cannot_raise(statement, calls):
            return statement
    return statements[0]


def _shape(run: ast.FunctionDef | ast.AsyncFunctionDef, calls: set[str]) -> Finding | ast.Try:
    """What is wrong with the shape of ``run``; else its metered ``try``."""
    body = run.body[1:] if ast.get_docstring(run) is not None else run.body
    tries = [statement for statement in body if isinstance(statement, ast.Try)]
    if not tries:
        return Finding(run, "ToolRunner.run has no top-level try/finally")
    metered = tries[0]
    before, after = body[: body.index(metered)], body[body.index(metered) + 1 :]
    if early := next((s for s in before if not _cannot_raise(s, calls)), None):
        detail = f"`{short(early)}` comes before the try, so its failures go unmetered"
        return Finding(early, detail)
    if not metered.finalbody:
        return Finding(metered, "the try of ToolRunner.run has no finally")
    if late := _unmetered(metered.finalbody, calls):
        detail = f"the finally must open with {METRICS_CALL}: `{short(late)}` may raise first"
        return Finding(late, detail)
    returned = after[0].value if len(after) == 1 and isinstance(after[0], ast.Return) else None
    if after and not isinstance(returned, ast.Name | ast.Attribute | ast.Constant | None):
        return Finding(after[0], "only `return <name>` may follow the metered try")
    return metered


def _classes(module: Module, name: str | None = None) -> list[ast.ClassDef]:
    return [n for n in module.tree.body if isinstance(n, ast.ClassDef) and name in (None, n.name)]


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    calls = CLOCKS | CANNOT_RAISE | {cls.name for cls in _classes(module)}
    for cls in _classes(module, "ToolRunner"):
        run = next((s for s in cls.body if isinstance(s, FUNCTIONS) and s.name == "run"), None)
        if run is None:
            if matches(module.path, plugin_run.PLUGIN_HOSTS):
                yield Finding(cls, "ToolRunner has no `run` method")
        elif isinstance(shape := _shape(run, calls), Finding):
            yield shape
        else:
            metered = set(ast.walk(shape))
            for node, _, _ in plugin_run.RULE.check(module, tree):
                if node not in metered:
                    yield Finding(node, f"`{short(node)}` runs a plugin outside the metered try")


def _check_tree(tree: Tree) -> Iterator[Violation]:
    """A tree with a ToolRunner's place needs a ToolRunner; a project, the reviewed helpers."""
    places = sorted(path for path in tree.paths if matches(path, NEEDS_A_RUNNER))
    runners = [module for module in tree.modules if _classes(module, "ToolRunner")]
    if places and not runners:
        yield RULE.violation(places[0], 1, 1, "no class ToolRunner in the tree")
    defined = {n.name for m in runners for n in m.tree.body if isinstance(n, FUNCTIONS)}
    for name in sorted(CANNOT_RAISE - defined) if tree.is_project else ():
        yield RULE.stale(name, f"{name} is not a function of the ToolRunner's module")


WHY = "ToolRunner.run records metrics in a finally that covers every path: no execution uncounted"
RULE = Rule("EXE003", WHY, ("**",), __file__, check=_check, check_tree=_check_tree)
