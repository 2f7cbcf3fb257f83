"""Mechanical scanner for the execution-governance invariants.

Review alone cannot keep "only the ToolRunner runs plugins" true while many people edit the tree,
so this scanner checks the invariants on the AST of every project file, the way zulip's custom
lint rules do: each rule is data (an id, the reason it exists, the paths it applies to, an
allow-list, and good and bad samples that the rule's own tests run) plus one small visitor.

    python scripts/scan_execution_violations.py [--path DIR] [--format text|json]
    python manage.py scan_execution [--path DIR] [--format text|json]

Exit codes: 0 clean, 1 violations, 2 usage error. Text output is one ``path:line:col RULE-ID
message`` line per violation (path relative to the scanned root, column 1-based, sorted); JSON
output is a list of ``{path, line, col, rule, message}`` objects. See docs/scanner.md.

There are no suppression comments, on purpose: a ``# noqa`` is how a scanner gets fooled one
line at a time, by whoever is in a hurry. The allow-list inside a rule is the only way out, and
changing it is a reviewed change to this file.

Directories skipped: virtualenvs (any directory holding ``pyvenv.cfg``), hidden directories,
``migrations``, ``build``, ``dist``, ``node_modules``, ``__pycache__``, ``site-packages``,
``*.egg-info`` and ``tests`` (tests construct fakes and call plugins directly to test them), and
``conftest.py`` files. The scanner uses the standard library only and never imports the code it
reads, so it runs before Django is configured and on a tree that does not import.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import functools
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

DEFAULT_ROOT = Path(__file__).resolve().parent.parent
OK_MESSAGE = "Execution scanner OK"

SKIP_DIRS = frozenset(
    {"migrations", "build", "dist", "node_modules", "__pycache__", "site-packages", "tests"}
    | {"venv", ".venv", ".git"}
)
SKIP_FILES = frozenset({"conftest.py"})

TOOL_RUNNER_PATH = "execution/tool_runner/__init__.py"
# The pool child's entry point: where an isolated plugin's ``run`` is called.
TOOL_RUNNER_CHILD_PATH = "execution/tool_runner/child.py"
TOOL_RUNNER_MODULE = "execution.tool_runner"
TOOL_RUNNER = "execution.tool_runner.ToolRunner"
EXECUTION_FAILURE = "execution.exceptions.ExecutionFailure"
EXCEPTIONS_MODULE = "execution.exceptions"

# Modules whose ``run`` function is not a plugin's: ``subprocess.run(...)`` and friends.
RUN_MODULES = frozenset({"subprocess", "asyncio", "trio", "anyio"})
# Only here may a provable ToolRunner (or the tool_runner module) have its ``run`` called.
RUNNER_CALLERS = ("execution/services/**",)
# Calls that fetch an attribute by name: ``getattr(plugin, "run")`` is ``plugin.run``.
ACCESSORS = frozenset(
    {"getattr", "getattr_static", "__getattribute__", "__getattr__", "attrgetter", "methodcaller"}
)
# The only calls allowed before the metered try of ToolRunner.run (besides local constructors).
CLOCKS = frozenset(
    {"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "time", "time_ns", "now"}
)
METRICS_CALL = "update_execution_metrics"

PLUGIN_STATES = ("LOADED", "INITIALIZED", "RUNNING", "FAILED", "UNAVAILABLE")
JOB_STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED")
ENUMS = {"PluginState": PLUGIN_STATES, "JobStatus": JOB_STATUSES}
FIELD_ENUMS = {"state": "PluginState", "status": "JobStatus"}
NOT_PLUGIN_STATES = frozenset({"SUCCESS", "ERROR", "SUCCEEDED", "ERRORED"})
ENUM_API = frozenset(
    {"choices", "labels", "values", "names", "__members__", "__name__", "__qualname__"}
    | {"__doc__", "__module__", "__class__", "__iter__", "__len__", "__contains__"}
)

# Framework exceptions allowed where the framework expects them: (paths, qualified prefixes).
FRAMEWORK_RAISES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    # HTTP edges: DRF and Django turn these into responses.
    (
        ("**/views.py", "**/views/**", "**/api/**", "**/serializers.py", "**/serializers/**"),
        (
            "rest_framework.exceptions.",
            "rest_framework.serializers.ValidationError",
            "django.http.Http404",
            "django.core.exceptions.PermissionDenied",
            "django.core.exceptions.SuspiciousOperation",
            "django.core.exceptions.ValidationError",
        ),
    ),
    # Model, form and admin validation: Django shows these to the user who typed the value.
    (
        ("**/models.py", "**/models/**", "**/forms.py", "**/admin.py", "**/validators.py"),
        ("django.core.exceptions.ValidationError",),
    ),
    # A configuration error at start-up is not a request failure and has no envelope.
    (("**",), ("django.core.exceptions.ImproperlyConfigured",)),
)
# Python's protocols require these builtins from these methods (PEP 562 ``__getattr__``...).
PROTOCOL_RAISES = {
    "__getattr__": frozenset({"AttributeError"}),
    "__getattribute__": frozenset({"AttributeError"}),
    "__getitem__": frozenset({"KeyError", "IndexError"}),
    "__missing__": frozenset({"KeyError"}),
    "__next__": frozenset({"StopIteration"}),
    "__anext__": frozenset({"StopAsyncIteration"}),
}

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
TRIES = (ast.Try, ast.TryStar)

# Binding kinds: how a name got its value in a scope.
IMPORT, CLASS, DEF, PARAM = "import", "class", "def", "param"
ASSIGN, ANN, OTHER = "assign", "ann", "other"
# What an expression is known to hold: a ToolRunner, None, or anything else.
RUNNER, NONE, NO = "runner", "none", "no"


# --- Results and rules as data ---------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Violation:
    """One broken invariant at one place; sorts by path, line, column, rule."""

    path: str
    line: int
    col: int
    rule: str
    message: str

    def as_text(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.rule} {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class Sample:
    """A pretend file (at a pretend path, since allow-lists depend on paths) for a rule's tests.

    A bad sample must produce exactly one violation, of its rule, at ``line`` of
    ``reported_path`` (default: ``path``); a good sample must produce none from any rule.
    ``extra`` holds other files of the pretend tree.
    """

    path: str
    source: str
    line: int = 0
    extra: tuple[tuple[str, str], ...] = ()
    reported_path: str = ""

    def files(self) -> dict[str, str]:
        return {**dict(self.extra), self.path: self.source}


def sample(
    path: str,
    source: str,
    line: int = 0,
    *,
    extra: Mapping[str, str] | None = None,
    reported_path: str = "",
) -> Sample:
    """Build a Sample from an indented triple-quoted source (dedented; first newline dropped)."""
    tidy = {name: textwrap.dedent(text).lstrip("\n") for name, text in (extra or {}).items()}
    return Sample(
        path, textwrap.dedent(source).lstrip("\n"), line, tuple(tidy.items()), reported_path
    )


@dataclass(frozen=True)
class Rule:
    """One invariant: ``message`` says why it exists; ``allow`` is the only way out of it."""

    id: str
    message: str
    scope: tuple[str, ...]
    allow: tuple[str, ...]
    visitor: type[RuleVisitor] | None
    good: tuple[Sample, ...]
    bad: tuple[Sample, ...]
    project_check: Callable[[Rule, Project], Iterable[Violation]] | None = None

    def applies_to(self, path: str) -> bool:
        return matches(path, self.scope) and not matches(path, self.allow)

    def violation(self, path: str, line: int, col: int, detail: str) -> Violation:
        return Violation(path, line, col, self.id, f"{detail}: {self.message}")


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``**/`` spans any number of directories (none included); ``*`` stays in one segment."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(_glob(pattern).match(path) for pattern in patterns)


# --- What a module binds: just enough dataflow to prove a receiver is a ToolRunner ------------


@dataclass(eq=False)
class Scope:
    node: ast.AST
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    redirect: dict[str, Scope] = field(default_factory=dict)  # global / nonlocal names

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)


@dataclass(eq=False)
class Binding:
    kind: str
    scope: Scope  # where the bound value is evaluated
    node: ast.AST
    value: ast.expr | None = None
    annotation: ast.expr | None = None
    target: str = ""  # qualified name, for imports and module-level classes and functions
    owner: ast.AST | None = None  # the function, for parameters
    index: int = -1  # the position, for positional parameters


class _Binder(ast.NodeVisitor):
    """Records every binding of every scope, and the scope every node is evaluated in.

    Comprehension variables are recorded in the enclosing scope: that can only make a name less
    provable, never more.
    """

    def __init__(self, module: Module) -> None:
        self.module = module
        self.scope = module.module_scope

    def visit(self, node: ast.AST) -> None:
        self.module.scope_of[node] = self.scope
        super().visit(node)

    def bind(self, name: str, kind: str, node: ast.AST, **extra: Any) -> None:
        home = self.scope.redirect.get(name, self.scope)
        home.bindings.setdefault(name, []).append(Binding(kind, self.scope, node, **extra))

    def bind_target(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, ASSIGN if value is not None else OTHER, target, value=value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.bind_target(element, None)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, None)
        self.visit(target)

    def _enter(self, node: ast.AST, visit_body: Callable[[], None]) -> None:
        outer, self.scope = self.scope, Scope(node, self.scope)
        self.module.scopes[node] = self.scope
        try:
            visit_body()
        finally:
            self.scope = outer

    def _qualify(self, name: str) -> str:
        return f"{self.module.name}.{name}" if self.scope is self.module.module_scope else ""

    def _params(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = function.args
        for index, arg in enumerate([*args.posonlyargs, *args.args]):
            self.bind(arg.arg, PARAM, arg, annotation=arg.annotation, owner=function, index=index)
        for optional in [args.vararg, *args.kwonlyargs, args.kwarg]:
            if optional is not None:
                self.bind(
                    optional.arg, PARAM, optional, annotation=optional.annotation, owner=function
                )

    def _visit_signature(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for arg in [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_signature(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.bind(node.name, DEF, node, target=self._qualify(node.name))

        def body() -> None:
            self._params(node)
            for statement in node.body:
                self.visit(statement)

        self._enter(node, body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node.args)

        def body() -> None:
            self._params(node)
            self.visit(node.body)

        self._enter(node, body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self.bind(node.name, CLASS, node, target=self._qualify(node.name))
        self._enter(node, lambda: self._visit_all(node.body))

    def _visit_all(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.bind(alias.asname, IMPORT, node, target=alias.name)
            else:
                first = alias.name.partition(".")[0]
                self.bind(first, IMPORT, node, target=first)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self.module.absolute(node.module, node.level)
        for alias in node.names:
            if alias.name != "*":
                self.bind(alias.asname or alias.name, IMPORT, node, target=f"{module}.{alias.name}")

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind_target(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, ANN, node, value=node.value, annotation=node.annotation)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, OTHER, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.bind(node.target.id, ASSIGN, node, value=node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind_target(node.target, None)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        self.bind_target(node.target, None)
        for condition in node.ifs:
            self.visit(condition)

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self.bind_target(node.optional_vars, None)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bind(node.name, OTHER, node)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name, OTHER, node)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bind(node.rest, OTHER, node)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self.scope.redirect[name] = self.module.module_scope

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        enclosing = self.scope.parent
        while enclosing is not None and enclosing.is_class:
            enclosing = enclosing.parent
        for name in node.names:
            self.scope.redirect[name] = enclosing or self.module.module_scope


class Module:
    """One parsed file with its scopes, and the questions the rules ask about its names."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        parts = path.removesuffix(".py").split("/")
        self.is_package = parts[-1] == "__init__"
        self.name = ".".join(parts[:-1] if self.is_package else parts)
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
        }
        self.module_scope = Scope(tree, None)
        self.scopes: dict[ast.AST, Scope] = {tree: self.module_scope}
        self.scope_of: dict[ast.AST, Scope] = {}
        _Binder(self).visit(tree)

    # Names --------------------------------------------------------------------------------

    def absolute(self, module: str | None, level: int) -> str:
        """The absolute module of ``from <module> import``, relative imports resolved."""
        if not level:
            return module or ""
        package = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
        base = package[: len(package) - (level - 1)] if level > 1 else package
        return ".".join([*base, module] if module else base)

    def lookup(self, name: str, scope: Scope) -> list[Binding] | None:
        """The bindings a use of ``name`` in ``scope`` can see (Python's LEGB, classes skipped)."""
        current: Scope | None = scope
        while current is not None:
            if current is scope or not current.is_class:
                if name in current.redirect:
                    return current.redirect[name].bindings.get(name)
                if name in current.bindings:
                    return current.bindings[name]
            current = current.parent
        return None

    def qualified(self, expr: ast.AST, scope: Scope) -> str | None:
        """``execution.tool_runner.ToolRunner`` for a name bound only by imports or definitions."""
        if isinstance(expr, ast.Attribute):
            base = self.qualified(expr.value, scope)
            return f"{base}.{expr.attr}" if base else None
        if not isinstance(expr, ast.Name):
            return None
        bindings = self.lookup(expr.id, scope)
        if bindings is None:
            return f"builtins.{expr.id}" if hasattr(builtins, expr.id) else None
        targets = {binding.target for binding in bindings}
        if len(targets) == 1 and all(b.kind in (IMPORT, CLASS, DEF) for b in bindings):
            return targets.pop() or None
        return None

    def const_str(self, expr: ast.AST, scope: Scope, depth: int = 0) -> str | None:
        """The string an expression always evaluates to, folding ``+``, f-strings and names."""
        if depth > 8:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self.const_str(expr.left, scope, depth + 1)
            right = self.const_str(expr.right, scope, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(expr, ast.JoinedStr):
            parts = [self.const_str(part, scope, depth + 1) for part in expr.values]
            return None if None in parts else "".join(p for p in parts if p is not None)
        if isinstance(expr, ast.FormattedValue) and expr.format_spec is None:
            return self.const_str(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Name):
            bindings = self.lookup(expr.id, scope) or []
            values = {
                self.const_str(b.value, b.scope, depth + 1) if b.value is not None else None
                for b in bindings
            }
            return values.pop() if len(values) == 1 else None
        return None

    def assigned(self, expr: ast.AST, scope: Scope) -> list[tuple[ast.expr, Scope]]:
        """The values a name is assigned (``=``, annotated ``=``, walrus), each with its scope."""
        if not isinstance(expr, ast.Name):
            return []
        return [
            (binding.value, binding.scope)
            for binding in self.lookup(expr.id, scope) or []
            if binding.kind in (ASSIGN, ANN) and binding.value is not None
        ]

    # Structure ----------------------------------------------------------------------------

    def enclosing(self, node: ast.AST, kinds: tuple[type[ast.AST], ...]) -> ast.AST | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kinds):
            current = self.parents.get(current)
        return current

    def inside(self, node: ast.AST, ancestor: ast.AST) -> bool:
        current: ast.AST | None = node
        while current is not None and current is not ancestor:
            current = self.parents.get(current)
        return current is ancestor

    def self_method(
        self, expr: ast.AST, scope: Scope
    ) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The method whose first parameter ``expr`` is (``self``/``cls``), never rebound."""
        if not isinstance(expr, ast.Name):
            return None
        bindings = self.lookup(expr.id, scope) or []
        owners = {id(b.owner) for b in bindings}
        if not bindings or len(owners) != 1:
            return None
        binding = bindings[0]
        if any(b.kind != PARAM or b.index != 0 for b in bindings):
            return None
        method = binding.owner
        if not isinstance(method, FUNCTIONS) or not isinstance(
            self.parents.get(method), ast.ClassDef
        ):
            return None
        if any(_terminal(d) == "staticmethod" for d in method.decorator_list):
            return None
        return method

    # Is this a ToolRunner? ------------------------------------------------------------------

    def runner_type(self, annotation: ast.AST | None, scope: Scope) -> str:
        """RUNNER for ``ToolRunner``, ``ToolRunner | None``, ``Optional["ToolRunner"]``..."""
        if annotation is None:
            return NO
        if isinstance(annotation, ast.Constant):
            if annotation.value is None:
                return NONE
            if isinstance(annotation.value, str):
                try:
                    parsed = ast.parse(annotation.value, mode="eval").body
                except SyntaxError:
                    return NO
                return self.runner_type(parsed, scope)
            return NO
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return _combine(
                [
                    self.runner_type(annotation.left, scope),
                    self.runner_type(annotation.right, scope),
                ]
            )
        if isinstance(annotation, ast.Subscript):
            wrapper = _terminal(annotation.value)
            inner = annotation.slice
            elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            if wrapper in ("Optional", "Final", "ClassVar"):
                return _combine([self.runner_type(elements[0], scope), NONE])
            if wrapper == "Annotated":
                return self.runner_type(elements[0], scope)
            if wrapper == "Union":
                return _combine([self.runner_type(element, scope) for element in elements])
            return NO
        return RUNNER if self.qualified(annotation, scope) == TOOL_RUNNER else NO

    def runner_kind(
        self, expr: ast.AST | None, scope: Scope, seen: frozenset[int] = frozenset()
    ) -> str:
        """RUNNER when every value ``expr`` can hold in this module is a ToolRunner (or None).

        A name is proven by all of its bindings, so renaming, rebinding or a ``global`` elsewhere
        cannot smuggle a plugin in; anything the module cannot see is NO.
        """
        if expr is None or id(expr) in seen:
            return NO
        seen = seen | {id(expr)}
        if isinstance(expr, ast.Constant):
            return NONE if expr.value is None else NO
        if isinstance(expr, ast.BoolOp):
            return _combine([self.runner_kind(value, scope, seen) for value in expr.values])
        if isinstance(expr, ast.IfExp):
            branches = [expr.body, expr.orelse]
            return _combine([self.runner_kind(value, scope, seen) for value in branches])
        if isinstance(expr, ast.NamedExpr):
            return self.runner_kind(expr.value, scope, seen)
        if isinstance(expr, ast.Call):
            return self._runner_call(expr, scope, seen)
        if isinstance(expr, ast.Name):
            bindings = self.lookup(expr.id, scope)
            if not bindings:
                return NO
            return _combine([self._runner_binding(binding, seen) for binding in bindings])
        if isinstance(expr, ast.Attribute):
            method = self.self_method(expr.value, scope)
            if method is None:
                return NO
            cls = self.parents[method]
            assert isinstance(cls, ast.ClassDef)
            return self._runner_attribute(cls, expr.attr, seen)
        return NO

    def _runner_call(self, call: ast.Call, scope: Scope, seen: frozenset[int]) -> str:
        if self.qualified(call.func, scope) == TOOL_RUNNER:
            return RUNNER
        functions: list[ast.AST] = []
        if isinstance(call.func, ast.Name):  # a function of this module returning a ToolRunner
            functions = [b.node for b in self.lookup(call.func.id, scope) or []]
        elif isinstance(call.func, ast.Attribute):  # self.make_runner()
            method = self.self_method(call.func.value, scope)
            cls = self.parents.get(method) if method is not None else None
            if isinstance(cls, ast.ClassDef):
                functions = _class_members(cls, call.func.attr)
        if functions and all(
            isinstance(f, FUNCTIONS)
            and self.runner_type(f.returns, self.scope_of.get(f, scope)) == RUNNER
            for f in functions
        ):
            return RUNNER
        return NO

    def _runner_binding(self, binding: Binding, seen: frozenset[int]) -> str:
        if binding.kind == PARAM:
            return self.runner_type(binding.annotation, binding.scope)
        if binding.kind == ASSIGN:
            return self.runner_kind(binding.value, binding.scope, seen)
        if binding.kind == ANN:
            declared = self.runner_type(binding.annotation, binding.scope)
            value = binding.value
            if value is None or (binding.scope.is_class and _terminal(value) == "field"):
                return declared  # a declaration, or a dataclass field: the annotation speaks
            return self.runner_kind(value, binding.scope, seen)
        return NO

    def _runner_attribute(self, cls: ast.ClassDef, attr: str, seen: frozenset[int]) -> str:
        """``self.<attr>``: the class declares it a ToolRunner and the module never assigns it
        (on any object) anything that is not one."""
        kinds: list[str] = []
        class_scope = self.scopes[cls]
        for binding in class_scope.bindings.get(attr, []):
            if binding.kind == DEF:  # a property returning a ToolRunner
                node = binding.node
                returns = node.returns if isinstance(node, FUNCTIONS) else None
                kinds.append(self.runner_type(returns, class_scope))
            else:
                kinds.append(self._runner_binding(binding, seen))
        for node in ast.walk(self.tree):
            scope = self.scope_of.get(node, self.module_scope)
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(target, ast.Attribute) and target.attr == attr:
                assert isinstance(node, ast.AnnAssign)  # self.runner: ToolRunner [= value]
                declared = Binding(ANN, scope, node, node.value, node.annotation)
                kinds.append(self._runner_binding(declared, seen))
            for target, value in _attribute_stores(node):
                if target.attr == attr:
                    kinds.append(self.runner_kind(value, scope, seen))
        return _combine(kinds)


def _combine(kinds: Sequence[str]) -> str:
    if not kinds or NO in kinds:
        return NO
    return RUNNER if RUNNER in kinds else NONE


def _terminal(expr: ast.AST) -> str:
    """The last name of ``a.b.c`` / ``c`` / ``c(...)``."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return ""


def _class_members(cls: ast.ClassDef, name: str) -> list[ast.AST]:
    return [s for s in cls.body if isinstance(s, FUNCTIONS) and s.name == name]


def _attribute_stores(node: ast.AST) -> Iterator[tuple[ast.Attribute, ast.expr | None]]:
    """Every ``<obj>.<attr> = value`` (value None when not a plain assignment); annotated
    assignments are left to the caller, which reads their annotation."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                yield target, node.value
            elif isinstance(target, ast.Tuple | ast.List):
                for element in ast.walk(target):
                    if isinstance(element, ast.Attribute) and isinstance(element.ctx, ast.Store):
                        yield element, None
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute):
        yield node.target, None
    elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.withitem):
        bound = node.optional_vars if isinstance(node, ast.withitem) else node.target
        for element in ast.walk(bound) if bound is not None else ():
            if isinstance(element, ast.Attribute) and isinstance(element.ctx, ast.Store):
                yield element, None
    elif isinstance(node, ast.Call) and _terminal(node.func) == "setattr" and len(node.args) == 3:
        name = node.args[1]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            yield ast.Attribute(value=node.args[0], attr=name.value, ctx=ast.Store()), node.args[2]


def _position(node: ast.AST) -> tuple[int, int]:
    """1-based line and column; for ``x.attr``, the position of ``attr`` itself."""
    if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset:
        return node.end_lineno, node.end_col_offset - len(node.attr) + 1
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1


def _short(node: ast.AST, limit: int = 40) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- The project: every file, and what rules need across files ---------------------------------


class Project:
    """All scanned files; the ExecutionFailure hierarchy is collected from them by AST."""

    def __init__(self, paths: Iterable[str], modules: Iterable[Module]) -> None:
        self.paths = frozenset(paths)
        self.modules = {module.path: module for module in modules}
        self.module_names = {module.name for module in self.modules.values()}
        self.classes: dict[str, list[str]] = {}
        for module in self.modules.values():
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef):
                    bases = [module.qualified(base, module.module_scope) for base in node.bases]
                    self.classes[f"{module.name}.{node.name}"] = [b for b in bases if b]
        self.failures = self._closure()

    def _closure(self) -> frozenset[str]:
        failures = {EXECUTION_FAILURE}
        changed = True
        while changed:
            changed = False
            for name, bases in self.classes.items():
                if name not in failures and any(self.is_failure(b, failures) for b in bases):
                    failures.add(name)
                    changed = True
        return frozenset(failures)

    def is_failure(self, qualified: str, failures: Iterable[str] | None = None) -> bool:
        """In the hierarchy; without execution/exceptions.py in the tree, trust its names."""
        if qualified in (self.failures if failures is None else failures):
            return True
        return (
            qualified.startswith(EXCEPTIONS_MODULE + ".")
            and EXCEPTIONS_MODULE not in self.module_names
        )


# --- One visitor per rule ------------------------------------------------------------------------


class RuleVisitor(ast.NodeVisitor):
    """Walks one module for one rule; ``report`` records a violation at a node."""

    def __init__(self, rule: Rule, module: Module, project: Project) -> None:
        self.rule = rule
        self.module = module
        self.project = project
        self.found: list[Violation] = []
        self.nodes: list[ast.AST] = []

    def report(self, node: ast.AST, detail: str) -> None:
        line, col = _position(node)
        self.found.append(self.rule.violation(self.module.path, line, col, detail))
        self.nodes.append(node)

    def scope(self, node: ast.AST) -> Scope:
        return self.module.scope_of.get(node, self.module.module_scope)

    def check(self) -> list[Violation]:
        self.visit(self.module.tree)
        return self.found


class PluginRunVisitor(RuleVisitor):
    """EXE001: any reference to an attribute ``run`` is a plugin run unless the receiver is
    provably something else. Referencing the bound method is the violation, which covers calls,
    aliases, ``lambda`` and ``partial`` alike; by-name accessors are caught separately."""

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "run" and not isinstance(node.ctx, ast.Load):
            self.report(node, f"`{_short(node)}` is replaced, so the ToolRunner would call that")
        elif node.attr == "run":
            problem = self.receiver_problem(node)
            if problem:
                self.report(node, problem)
        self.generic_visit(node)

    def receiver_problem(self, node: ast.Attribute) -> str | None:
        module, scope, receiver = self.module, self.scope(node), node.value
        qualified = module.qualified(receiver, scope)
        if qualified in RUN_MODULES:
            return None
        if self._delegates(node, receiver, scope):
            return None
        text = _short(receiver)
        if qualified == TOOL_RUNNER_MODULE or module.runner_kind(receiver, scope) == RUNNER:
            if matches(module.path, RUNNER_CALLERS):
                return None
            return f"`{text}.run` calls the ToolRunner outside execution/services/"
        return f"`{text}.run` is not on a provable ToolRunner"

    def _delegates(self, node: ast.AST, receiver: ast.expr, scope: Scope) -> bool:
        """``super().run(...)`` or ``self.run(...)`` inside the class's own ``run``: the outer
        call is already being run by whoever governs it."""
        function = self.module.enclosing(node, (*FUNCTIONS, ast.Lambda))
        if not isinstance(function, FUNCTIONS) or function.name != "run":
            return False
        if not isinstance(self.module.parents.get(function), ast.ClassDef):
            return False
        if isinstance(receiver, ast.Call) and _terminal(receiver.func) == "super":
            return True
        return self.module.self_method(receiver, scope) is function

    def visit_Call(self, node: ast.Call) -> None:
        accessor = _terminal(node.func)
        if accessor in ACCESSORS:
            for argument in node.args:
                name = self.module.const_str(argument, self.scope(node))
                if name is not None and "run" in name.split("."):
                    self.report(node, f"`{accessor}(..., {name!r})` reaches a `run` by name")
                    break
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        namespace = node.value
        by_dict = isinstance(namespace, ast.Attribute) and namespace.attr == "__dict__"
        by_vars = isinstance(namespace, ast.Call) and _terminal(namespace.func) == "vars"
        if (by_dict or by_vars) and self.module.const_str(node.slice, self.scope(node)) == "run":
            self.report(node, f"`{_short(node)}` reaches a `run` through the instance dict")
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        if "run" in node.kwd_attrs:
            self.report(node, "a class pattern `run=` captures a bound `run`")
        self.generic_visit(node)


TOOL_RUNNER_PARTS = frozenset({"tool_runner", "ToolRunner"})


class RunnerImportVisitor(RuleVisitor):
    """EXE002: edges (views, API, tasks, admin, commands) never see the ToolRunner."""

    def _names_runner(self, dotted: str) -> bool:
        return bool(TOOL_RUNNER_PARTS & set(dotted.split(".")))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._names_runner(alias.name):
                self.report(node, f"`import {alias.name}` reaches the ToolRunner")
                return

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self.module.absolute(node.module, node.level)
        names = [alias.name for alias in node.names]
        if self._names_runner(module) or TOOL_RUNNER_PARTS & set(names):
            self.report(node, f"`from {module} import {', '.join(names)}` reaches the ToolRunner")

    def visit_Call(self, node: ast.Call) -> None:
        if _terminal(node.func) in ("import_module", "__import__") and node.args:
            scope = self.scope(node)
            name = self.module.const_str(node.args[0], scope) or ""
            if name.startswith("."):
                package = next((k.value for k in node.keywords if k.arg == "package"), None)
                name = f"{self.module.const_str(package, scope) or ''}{name}" if package else name
            if self._names_runner(name):
                self.report(node, f"importing {name!r} by name reaches the ToolRunner")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "ToolRunner":
            self.report(node, "`ToolRunner` is used here")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in TOOL_RUNNER_PARTS:
            self.report(node, f"`{_short(node)}` reaches the ToolRunner")
        else:
            self.generic_visit(node)


class MeteredRunVisitor(RuleVisitor):
    """EXE003: ``ToolRunner.run`` records metrics in a ``finally`` that covers every path.

    Precisely: after the docstring, ``run`` may only assign plain values (constants, names,
    attributes, clock reads, instances of classes defined in tool_runner.py); then comes one
    ``try`` whose ``finally`` calls ``update_execution_metrics`` as a top-level statement (or in
    the body of a ``try``/``with`` directly inside it); after it, at most ``return <name>``. And
    every plugin ``run`` of the file is inside that ``try``.
    """

    def check(self) -> list[Violation]:
        tree = self.module.tree
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ToolRunner"]
        cls = classes[0] if classes else None
        if cls is None:
            self.report(ast.Pass(lineno=1, col_offset=0), "no class ToolRunner in this file")
            return self.found
        run = next((s for s in cls.body if isinstance(s, FUNCTIONS) and s.name == "run"), None)
        if run is None:
            self.report(cls, "ToolRunner has no `run` method")
            return self.found
        problem, where, metered = self._shape(run)
        if problem:
            self.report(where, problem)
            return self.found
        finder = PluginRunVisitor(self.rule, self.module, self.project)
        finder.check()
        for node in finder.nodes:
            if not self.module.inside(node, metered):
                self.report(node, f"`{_short(node)}` runs a plugin outside the metered try")
        return self.found

    def _shape(self, run: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ast.AST, ast.AST]:
        body = run.body[1:] if ast.get_docstring(run) is not None else run.body
        if not any(isinstance(statement, TRIES) for statement in body):
            return "ToolRunner.run has no top-level try/finally", run, run
        index = 0
        while not isinstance(body[index], TRIES):
            if not self._plain(body[index]):
                text = _short(body[index])
                detail = f"`{text}` comes before the try, so its failures go unmetered"
                return detail, body[index], run
            index += 1
        metered = body[index]
        assert isinstance(metered, TRIES)
        if not metered.finalbody:
            return "the try of ToolRunner.run has no finally", metered, run
        if not any(_calls_metrics(statement) for statement in metered.finalbody):
            detail = f"the finally does not always call {METRICS_CALL}"
            return detail, metered.finalbody[0], run
        rest = body[index + 1 :]
        if rest and not (len(rest) == 1 and _plain_return(rest[0])):
            return "only `return <name>` may follow the metered try", rest[0], run
        return "", run, metered

    def _plain(self, statement: ast.stmt) -> bool:
        if isinstance(statement, ast.Pass):
            return True
        if not isinstance(statement, ast.Assign | ast.AnnAssign):
            return False
        local_classes = {n.name for n in self.module.tree.body if isinstance(n, ast.ClassDef)}
        for node in ast.walk(statement):
            if isinstance(node, ast.Await | ast.Yield | ast.YieldFrom | ast.Lambda | ast.NamedExpr):
                return False
            if isinstance(node, ast.Attribute) and node.attr == "run":
                return False
            if isinstance(node, ast.Call):
                callee = _terminal(node.func)
                local = isinstance(node.func, ast.Name) and callee in local_classes
                if callee not in CLOCKS and not local:
                    return False
        return True


def _calls_metrics(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Expr | ast.Assign | ast.AnnAssign | ast.Return):
        value = statement.value
        if isinstance(value, ast.Await):
            value = value.value
        return isinstance(value, ast.Call) and _terminal(value.func) == METRICS_CALL
    if isinstance(statement, TRIES):
        return any(_calls_metrics(s) for s in [*statement.body, *statement.finalbody])
    if isinstance(statement, ast.With | ast.AsyncWith):
        return any(_calls_metrics(s) for s in statement.body)
    return False


def _plain_return(statement: ast.stmt) -> bool:
    value = statement.value if isinstance(statement, ast.Return) else None
    return isinstance(statement, ast.Return) and (
        value is None or isinstance(value, ast.Name | ast.Attribute | ast.Constant)
    )


def _tool_runner_exists(rule: Rule, project: Project) -> Iterator[Violation]:
    """A rule that cannot find ToolRunner.run fails: a tree with an ``execution`` package
    (``execution/__init__.py``) must have execution/tool_runner/__init__.py."""
    if "execution/__init__.py" in project.paths and TOOL_RUNNER_PATH not in project.paths:
        yield rule.violation(TOOL_RUNNER_PATH, 1, 1, "file not found")


def _field_kind(name: str) -> str | None:
    """``state``, ``plugin_state``, ``state__in`` -> "state"; ``status``, ``job_status``..."""
    for part in name.lower().split("__"):
        for kind in FIELD_ENUMS:
            if part == kind or part.endswith("_" + kind):
                return kind
    return None


def _target_name(expr: ast.AST) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    return expr.attr if isinstance(expr, ast.Attribute) else ""


class LifecycleVisitor(RuleVisitor):
    """EXE004: plugin states and job statuses are written, compared and defined only as members
    of PluginState / JobStatus, never as raw strings."""

    def __init__(self, rule: Rule, module: Module, project: Project) -> None:
        super().__init__(rule, module, project)
        self.unpacked: set[ast.Dict] = set()  # dicts unpacked into a call: f(**{...})
        self.reported: set[ast.AST] = set()  # a literal reached twice is reported once

    def literals(self, expr: ast.AST | None, enum: str) -> None:
        elements = expr.elts if isinstance(expr, ast.Tuple | ast.List | ast.Set) else [expr]
        members = ENUMS[enum]
        for element in elements:
            if element in self.reported:
                continue
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                self.reported.add(element)
                value = element.value
                if value.upper() in members:
                    detail = f"raw literal {value!r}: use {enum}.{value.upper()}"
                else:
                    detail = f"{value!r} is not a {enum} member ({', '.join(members)})"
                self.report(element, detail)

    def visit_keyword(self, node: ast.keyword) -> None:
        kind = _field_kind(node.arg or "")
        if kind:
            self.literals(node.value, FIELD_ENUMS[kind])
        elif node.arg is None:  # f(**{"status": "DONE"}) is f(status="DONE")
            if isinstance(node.value, ast.Dict):
                self.unpacked.add(node.value)
            for value, _ in self.module.assigned(node.value, self.scope(node.value)):
                if isinstance(value, ast.Dict):  # values = {...}; f(**values)
                    self.dict_slots(value, unpacked=True)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign | ast.AnnAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            kind = _field_kind(_target_name(target))
            if kind:
                self.literals(node.value, FIELD_ENUMS[kind])
                if isinstance(node.value, ast.Call):  # state = models.CharField(default="...")
                    for keyword in node.value.keywords:
                        if keyword.arg in ("default", "db_default"):
                            self.literals(keyword.value, FIELD_ENUMS[kind])
        self.generic_visit(node)

    visit_AnnAssign = visit_Assign

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        kinds = [_field_kind(_target_name(operand)) for operand in operands]
        kind = next((k for k in kinds if k), None)
        if kind:
            for operand, operand_kind in zip(operands, kinds, strict=True):
                if not operand_kind:
                    self.literals(operand, FIELD_ENUMS[kind])
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        self.dict_slots(node, unpacked=node in self.unpacked)
        self.generic_visit(node)

    def dict_slots(self, node: ast.Dict, *, unpacked: bool) -> None:
        """Keys "state" always; keys "status" only when the dict is unpacked into a call, where
        each key is a keyword: {"status": "ok"} is everyday HTTP JSON, not a job status."""
        for key, value in zip(node.keys, node.values, strict=True):
            name = self.module.const_str(key, self.scope(key)) if key is not None else None
            kind = _field_kind(name or "")
            if kind == "state" or (kind and unpacked):
                self.literals(value, FIELD_ENUMS[kind])

    def visit_Match(self, node: ast.Match) -> None:
        kind = _field_kind(_target_name(node.subject))
        if kind:
            for case in node.cases:
                for pattern in ast.walk(case.pattern):
                    if isinstance(pattern, ast.MatchValue):
                        self.literals(pattern.value, FIELD_ENUMS[kind])
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        enum = _terminal(node.func)
        if enum in ENUMS:
            for argument in node.args:
                self.literals(argument, enum)
        slot = self.setattr_slot(node)
        if slot is not None:  # setattr(job, "status", "DONE") is job.status = "DONE"
            name = self.module.const_str(slot[0], self.scope(node))
            kind = _field_kind(name or "")
            if kind:
                self.literals(slot[1], FIELD_ENUMS[kind])
        self.generic_visit(node)

    def setattr_slot(self, node: ast.Call) -> tuple[ast.expr, ast.expr] | None:
        """The (name, value) of ``setattr(obj, name, value)``, ``object.__setattr__(obj, name,
        value)`` and ``obj.__setattr__(name, value)``."""
        args = node.args
        if any(isinstance(argument, ast.Starred) for argument in args):
            return None
        function = self.module.qualified(node.func, self.scope(node))
        if len(args) == 3 and function == "builtins.setattr":
            return args[1], args[2]
        dunder = isinstance(node.func, ast.Attribute) and node.func.attr == "__setattr__"
        if dunder and len(args) in (2, 3):
            return args[-2], args[-1]
        return None

    def visit_Subscript(self, node: ast.Subscript) -> None:
        enum = _terminal(node.value)
        if enum in ENUMS and isinstance(node.value, ast.Name | ast.Attribute):
            self.literals(node.slice, enum)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        enum = _terminal(node.value)
        named = isinstance(node.value, ast.Name | ast.Attribute)
        if named and enum in ENUMS and node.attr not in (*ENUMS[enum], *ENUM_API):
            self.report(node, f"{enum}.{node.attr} is not one of {', '.join(ENUMS[enum])}")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name in ENUMS:
            members = [
                target.id
                for statement in node.body
                if isinstance(statement, ast.Assign)
                for target in statement.targets
                if isinstance(target, ast.Name) and not target.id.startswith("_")
            ]
            if sorted(members) != sorted(ENUMS[node.name]):
                expected = ", ".join(ENUMS[node.name])
                self.report(node, f"{node.name} defines {', '.join(members)}; exactly {expected}")
            elif node.name == "PluginState":
                self.stored_values(node)
        self.generic_visit(node)

    def stored_values(self, enum: ast.ClassDef) -> None:
        """``FAILED = "ERROR", "Failed"`` has the right name but stores a state that isn't one."""
        for statement in enum.body:
            value = statement.value if isinstance(statement, ast.Assign) else None
            if isinstance(value, ast.Tuple) and value.elts:
                value = value.elts[0]
            stored = value.value if isinstance(value, ast.Constant) else None
            if isinstance(stored, str) and stored.upper() in NOT_PLUGIN_STATES:
                self.report(statement, f"PluginState stores {stored!r}, which is not a state")


BROAD = frozenset({"builtins.Exception", "builtins.BaseException"})
SUPPRESS = "contextlib.suppress"


def _acts(statements: Iterable[ast.stmt]) -> bool:
    """Whether a handler body raises or calls anything at all (logging, building an envelope,
    cleaning up). A nested ``def`` or ``lambda`` body does not run there: only its decorators
    and defaults do."""
    stack: list[ast.AST] = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Raise | ast.Call):
            return True
        if isinstance(node, (*FUNCTIONS, ast.Lambda)):
            decorators = [] if isinstance(node, ast.Lambda) else node.decorator_list
            defaults = [d for d in node.args.kw_defaults if d is not None]
            stack.extend([*decorators, *node.args.defaults, *defaults])
        else:
            stack.extend(ast.iter_child_nodes(node))
    return False


class SwallowVisitor(RuleVisitor):
    """EXE005: ``except:`` always; ``except Exception/BaseException`` (or a tuple holding one)
    whose body neither raises nor calls anything; ``contextlib.suppress`` of a broad class."""

    def names(self, expr: ast.AST, scope: Scope, depth: int = 0) -> set[str]:
        """The qualified names an expression may hold: through imports and definitions, inside
        tuples and ``*`` unpacking, and through assignments (``BROAD = (OSError, Exception)``)."""
        if depth > 5:
            return set()
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return set().union(*(self.names(e, scope, depth + 1) for e in expr.elts))
        if isinstance(expr, ast.Starred):
            return self.names(expr.value, scope, depth + 1)
        qualified = self.module.qualified(expr, scope)
        if qualified:
            return {qualified}
        found: set[str] = set()
        for value, home in self.module.assigned(expr, scope):
            found |= self.names(value, home, depth + 1)
        return found

    def broad(self, caught: Iterable[ast.AST], scope: Scope) -> str:
        """``Exception``, ``BaseException`` or both, if ``caught`` names them; else ``""``."""
        names = set().union(*(self.names(expr, scope) for expr in caught)) & BROAD
        return ", ".join(sorted(name.removeprefix("builtins.") for name in names))

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.report(node, "bare `except:` also catches SystemExit and KeyboardInterrupt")
        elif self.broad([node.type], self.scope(node)) and not _acts(node.body):
            self.report(
                node,
                f"`except {_short(node.type)}` swallows the failure (the handler neither "
                "raises nor calls anything: no log, no envelope)",
            )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        scope = self.scope(node)
        if SUPPRESS in self.names(node.func, scope):
            broad = self.broad(node.args, scope)
            if broad:
                self.report(node, f"`{_short(node)}` swallows every failure (suppresses {broad})")
        self.generic_visit(node)


class RaiseVisitor(RuleVisitor):
    """EXE006: what the execution layer raises is an ExecutionFailure subclass.

    Bare ``raise`` and re-raising a caught name pass. A raised class is resolved through imports
    and assignments; what cannot be resolved (a factory call, an attribute of an object) passes.
    Protocol methods may raise what Python requires of them (``__getattr__``: AttributeError).
    """

    def visit_Raise(self, node: ast.Raise) -> None:
        if node.exc is not None:
            function = self.module.enclosing(node, FUNCTIONS)
            protocol = PROTOCOL_RAISES.get(getattr(function, "name", ""), frozenset())
            for qualified in self.raised(node.exc, self.scope(node), 0):
                if qualified.removeprefix("builtins.") in protocol:
                    continue
                if not self.allowed(qualified):
                    name = qualified.removeprefix("builtins.")
                    self.report(node, f"raises `{name}`, not an ExecutionFailure subclass")
                    break
        self.generic_visit(node)

    def raised(self, expr: ast.AST, scope: Scope, depth: int) -> list[str]:
        if isinstance(expr, ast.Call):
            expr = expr.func
        if isinstance(expr, ast.Attribute):
            qualified = self.module.qualified(expr, scope)
            return [qualified] if qualified else []
        if not isinstance(expr, ast.Name) or depth > 5:
            return []
        bindings = self.module.lookup(expr.id, scope)
        if bindings is None:
            value = getattr(builtins, expr.id, None)
            is_exception = isinstance(value, type) and issubclass(value, BaseException)
            return [f"builtins.{expr.id}"] if is_exception else []
        if all(binding.kind in (IMPORT, CLASS, DEF) for binding in bindings):
            qualified = self.module.qualified(expr, scope)
            return [qualified] if qualified else []
        found: list[str] = []
        for binding in bindings:  # error = ValueError(...); raise error
            if binding.kind in (ASSIGN, ANN) and binding.value is not None:
                found += self.raised(binding.value, binding.scope, depth + 1)
        return found

    def allowed(self, qualified: str) -> bool:
        if qualified.startswith("builtins."):
            return False
        if self.project.is_failure(qualified):
            return True
        for paths, prefixes in FRAMEWORK_RAISES:
            if matches(self.module.path, paths) and qualified.startswith(prefixes):
                return True
        owner, _, name = qualified.rpartition(".")
        if owner in self.project.module_names:  # ours: only a class that is not a failure is bad
            return qualified not in self.project.classes
        return not name[:1].isupper()  # third-party: a CapWords name is an exception class


# --- The rules -----------------------------------------------------------------------------------

EXECUTION_CODE = ("execution/**",)
EDGES = (
    "**/views.py",
    "**/views/**",
    "**/api/**",
    "**/urls.py",
    "**/tasks.py",
    "**/tasks/**",
    "**/admin.py",
    "**/admin/**",
    "**/management/commands/**",
)

_GOOD_TOOL_RUNNER = '''
    """Runs plugins."""

    import time

    from execution.exceptions import PluginError
    from registry import services as registry_services


    class Outcome:
        pass


    class ToolRunner:
        def run(self, plugin, payload):
            """Run one plugin, always recording metrics."""
            outcome = Outcome()
            started = time.monotonic()
            try:
                outcome.result = plugin.run(payload)
            except Exception as error:
                raise PluginError(plugin=plugin.name) from error
            finally:
                registry_services.update_execution_metrics(plugin.name, time.monotonic() - started)
            return outcome
'''

_EXCEPTIONS = {
    "execution/exceptions.py": """
        class ExecutionFailure(Exception):
            pass


        class PluginError(ExecutionFailure):
            pass


        class Envelope:
            pass
    """
}

RULES: tuple[Rule, ...] = (
    Rule(
        id="EXE000",
        message="a file that does not parse cannot be checked, so it cannot pass",
        scope=("**",),
        allow=(),
        visitor=None,
        good=(sample("execution/ok.py", "VALUE = 1\n"),),
        bad=(sample("execution/broken.py", "def broken(:\n    pass\n", 1),),
    ),
    Rule(
        id="EXE001",
        message="plugins run only inside ToolRunner.run, which validates, contains and meters "
        "every execution",
        scope=("**",),
        allow=(TOOL_RUNNER_PATH, TOOL_RUNNER_CHILD_PATH),
        visitor=PluginRunVisitor,
        good=(
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                def execute(plugin, payload):
                    return ToolRunner().run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                class PluginExecutionService:
                    def __init__(self, *, runner: ToolRunner | None = None) -> None:
                        self.runner = runner or ToolRunner()

                    def execute(self, plugin, payload):
                        return self.runner.run(plugin=plugin, payload=payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from dataclasses import dataclass, field

                from execution import tool_runner


                @dataclass
                class PluginExecutionService:
                    runner: "tool_runner.ToolRunner" = field(default_factory=tool_runner.ToolRunner)

                    def execute(self, plugin, payload):
                        return self.runner.run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from typing import Optional

                from execution.tool_runner import ToolRunner as Runner


                def execute(plugin, payload, runner: Optional[Runner] = None):
                    tool_runner = runner if runner is not None else Runner()
                    return tool_runner.run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                import execution.tool_runner


                def build_runner() -> execution.tool_runner.ToolRunner:
                    return execution.tool_runner.ToolRunner()


                def execute(plugin, payload):
                    return build_runner().run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from functools import cached_property

                from execution.tool_runner import ToolRunner


                class PluginExecutionService:
                    @cached_property
                    def runner(self) -> ToolRunner:
                        return ToolRunner()

                    def execute(self, plugin, payload):
                        return self.runner.run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution import tool_runner


                def execute(plugin, payload):
                    return tool_runner.run(plugin, payload)
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                class PluginExecutionService:
                    def __init__(self, runner: ToolRunner) -> None:
                        self.runner: ToolRunner = runner

                    def execute(self, plugin, payload):
                        return self.runner.run(plugin, payload)
                """,
            ),
            sample(
                "plugins/builtin/ocr.py",
                """
                import asyncio as aio
                import subprocess


                def version():
                    return subprocess.run(["tesseract", "--version"], check=False)


                def main(coroutine):
                    return aio.run(coroutine)
                """,
            ),
            sample(
                "plugins/builtin/large_faces.py",
                """
                from plugins.builtin.faces import FaceDetectionPlugin


                class LargeFaces(FaceDetectionPlugin):
                    def run(self, payload):
                        return super().run({**payload, "options": {"min_size": 64}})
                """,
            ),
            sample(
                "plugins/discovery.py",
                """
                def runnable(plugin_class):
                    return hasattr(plugin_class, "run") and callable(plugin_class)
                """,
            ),
            sample(
                TOOL_RUNNER_CHILD_PATH,
                """
                def run_plugin(task):
                    return _plugins[task.plugin].run(task.payload)
                """,
            ),
        ),
        bad=(
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    return plugin.run(payload)
                """,
                2,
            ),
            sample(
                "execution/tool_runner/pool.py",
                """
                def run_in_pool(plugin, payload):
                    return plugin.run(payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                class JobExecutionService:
                    def execute(self, payload):
                        return self.plugin.run(payload)
                """,
                3,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                async def execute(plugin, payload):
                    return await plugin.run(payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    envelope = wrap(plugin.run(payload))
                    return envelope
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    return getattr(plugin, "run")(payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    return getattr(plugin, "r" + "un", None)(payload)
                """,
                2,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from registry.services import get_plugin


                def execute(payload):
                    runner = get_plugin("faces")
                    return runner.run(payload)
                """,
                6,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                def execute(catalog, payload):
                    return catalog["faces"].run(payload)
                """,
                2,
            ),
            sample(
                "execution/api/views.py",
                """
                def analyse(discovery, name, payload):
                    return discovery.available[name].run(payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    analyse = plugin.run
                    return analyse(payload)
                """,
                2,
            ),
            sample(
                "execution/tasks.py",
                """
                def schedule(plugin, payload):
                    return lambda: plugin.run(payload)
                """,
                2,
            ),
            sample(
                "execution/tasks.py",
                """
                import functools


                def schedule(plugin, payload):
                    return functools.partial(plugin.run, payload)
                """,
                5,
            ),
            sample(
                "execution/tasks.py",
                """
                from operator import methodcaller

                call_run = methodcaller("run", {"image": b""})
                """,
                3,
            ),
            sample(
                "execution/tasks.py",
                """
                from operator import attrgetter

                bound_run = attrgetter("plugin.run")
                """,
                3,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    return vars(plugin)["run"](payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    return type(plugin).run(plugin, payload)
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(plugin, payload):
                    match plugin:
                        case object(run=analyse):
                            return analyse(payload)
                """,
                3,
            ),
            sample(
                "plugins/builtin/echo.py",
                """
                class Echo(AnalysisPlugin):
                    def run(self, payload):
                        return dict(payload)

                    def run_twice(self, payload):
                        return self.run(payload)
                """,
                6,
            ),
            sample(
                "plugins/builtin/large_faces.py",
                """
                class LargeFaces(FaceDetectionPlugin):
                    def warm_up(self):
                        return super().run({})
                """,
                3,
            ),
            sample(
                "registry/health.py",
                """
                from execution.tool_runner import ToolRunner


                def probe(plugin):
                    return ToolRunner().run(plugin, {})
                """,
                5,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                class ToolRunner:
                    def __init__(self, plugin):
                        self.plugin = plugin


                def execute(plugin, payload):
                    return ToolRunner(plugin).run(payload)
                """,
                7,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                def execute(plugin, payload, fast):
                    runner = ToolRunner()
                    if fast:
                        runner = plugin
                    return runner.run(plugin, payload)
                """,
                8,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                def execute(plugin, payload):
                    runner: ToolRunner = plugin
                    return runner.run(payload)
                """,
                6,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner

                runner = ToolRunner()


                def swap(plugin):
                    global runner
                    runner = plugin


                def execute(plugin, payload):
                    return runner.run(plugin, payload)
                """,
                12,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.tool_runner import ToolRunner


                class PluginExecutionService:
                    runner: ToolRunner

                    def execute(self, plugin, payload):
                        return self.runner.run(plugin, payload)


                def hijack(service, plugin):
                    service.runner = plugin
                """,
                8,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                def instrument(plugin, wrapper):
                    plugin.run = wrapper
                """,
                2,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                def execute(subprocess, payload):
                    return subprocess.run(payload)
                """,
                2,
            ),
        ),
    ),
    Rule(
        id="EXE002",
        message="views, API, tasks, admin and commands go through execution.services, which own "
        "jobs and errors; only the services hold the ToolRunner",
        scope=EDGES,
        allow=("execution/services/**", "execution/tool_runner/**"),
        visitor=RunnerImportVisitor,
        good=(
            sample(
                "execution/api/views.py",
                """
                from execution.services import AnalysisExecutionService


                def analyse(request):
                    return AnalysisExecutionService().execute(request=request)
                """,
            ),
            sample(
                "execution/services/tasks.py",
                """
                from execution.tool_runner import ToolRunner

                DEFAULT = ToolRunner
                """,
            ),
            sample("registry/admin.py", "from registry.models import PluginRegistry\n"),
        ),
        bad=(
            sample("execution/views.py", "from execution.tool_runner import ToolRunner\n", 1),
            sample("execution/api/jobs.py", "import execution.tool_runner as runner_module\n", 1),
            sample("execution/tasks.py", "from execution import tool_runner\n", 1),
            sample("execution/admin.py", "from .tool_runner import ExecutionOutcome\n", 1),
            sample("execution/views/jobs.py", "from ..tool_runner import ToolRunner\n", 1),
            sample("registry/views/plugins.py", "from execution.services import ToolRunner\n", 1),
            sample(
                "execution/management/commands/run_plugin.py",
                """
                import importlib

                module = importlib.import_module("execution.tool_runner")
                """,
                3,
            ),
            sample(
                "execution/tasks.py",
                """
                from importlib import import_module

                module = import_module(".tool_runner", package="execution")
                """,
                3,
            ),
            sample(
                "execution/api/views.py",
                """
                from execution import services

                RUNNER_CLASS = services.ToolRunner
                """,
                3,
            ),
        ),
    ),
    Rule(
        id="EXE003",
        message="ToolRunner.run records metrics in a finally that covers every path, so no "
        "execution goes uncounted",
        scope=(TOOL_RUNNER_PATH,),
        allow=(),
        visitor=MeteredRunVisitor,
        project_check=_tool_runner_exists,
        good=(
            sample(TOOL_RUNNER_PATH, _GOOD_TOOL_RUNNER),
            sample(
                TOOL_RUNNER_PATH,
                """
                import logging

                from registry.services import update_execution_metrics

                logger = logging.getLogger(__name__)


                class ToolRunner:
                    async def run(self, plugin, payload):
                        try:
                            return await plugin.run(payload)
                        finally:
                            try:
                                update_execution_metrics(plugin.name)
                            except Exception:
                                logger.exception("metrics for %s were not recorded", plugin)
                """,
            ),
            sample("execution/__init__.py", "", extra={TOOL_RUNNER_PATH: _GOOD_TOOL_RUNNER}),
        ),
        bad=(
            sample(
                TOOL_RUNNER_PATH,
                """
                from registry.services import update_execution_metrics


                class ToolRunner:
                    def run(self, plugin, payload):
                        result = plugin.run(payload)
                        update_execution_metrics(plugin.name)
                        return result
                """,
                5,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        try:
                            return plugin.run(payload)
                        except KeyError:
                            return None
                """,
                3,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        try:
                            return plugin.run(payload)
                        finally:
                            logger.info("ran %s", plugin)
                """,
                6,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        succeeded = False
                        try:
                            result = plugin.run(payload)
                            succeeded = True
                            return result
                        finally:
                            if succeeded:
                                update_execution_metrics(plugin.name)
                """,
                9,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        started = time.monotonic()
                        self.validate(payload)
                        try:
                            return plugin.run(payload)
                        finally:
                            update_execution_metrics(plugin.name, time.monotonic() - started)
                """,
                4,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        if not payload:
                            return None
                        try:
                            return plugin.run(payload)
                        finally:
                            update_execution_metrics(plugin.name)
                """,
                3,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        try:
                            result = plugin.run(payload)
                        finally:
                            update_execution_metrics(plugin.name)
                        return self.envelope(result)
                """,
                7,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def run(self, plugin, payload):
                        try:
                            return self.call(plugin, payload)
                        finally:
                            update_execution_metrics(plugin.name)

                    def call(self, plugin, payload):
                        return plugin.run(payload)
                """,
                9,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                def run(plugin, payload):
                    return plugin.run(payload)
                """,
                1,
            ),
            sample(
                TOOL_RUNNER_PATH,
                """
                class ToolRunner:
                    def execute(self, plugin, payload):
                        return plugin.run(payload)
                """,
                1,
            ),
            sample("execution/__init__.py", "", 1, reported_path=TOOL_RUNNER_PATH),
        ),
    ),
    Rule(
        id="EXE004",
        message="plugin states and job statuses are only members of PluginState/JobStatus, so "
        "stored values stay within the five known ones",
        scope=("registry/**", "execution/**"),
        allow=(),
        visitor=LifecycleVisitor,
        good=(
            sample(
                "registry/models.py",
                """
                from django.db import models


                class PluginState(models.TextChoices):
                    LOADED = "LOADED", "Loaded"
                    INITIALIZED = "INITIALIZED", "Initialized"
                    RUNNING = "RUNNING", "Running"
                    FAILED = "FAILED", "Failed"
                    UNAVAILABLE = "UNAVAILABLE", "Unavailable"


                class PluginRegistry(models.Model):
                    state = models.CharField(choices=PluginState.choices, default=PluginState.LOADED)
                """,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from execution.models import JobStatus
                from registry.models import PluginState


                def finish(job, plugin, rows):
                    plugin.state = PluginState.FAILED
                    rows.filter(state__in=[PluginState.LOADED, PluginState.INITIALIZED])
                    if job.status == JobStatus.SUCCESS:
                        return {"status": "ok", "state": plugin.state, "label": PluginState.LOADED.label}
                    return Response({"detail": "gone"}, status=404)
                """,
            ),
            sample("plugins/builtin/echo.py", 'RESULT = {"state": "SUCCESS"}\n'),
            sample(
                "execution/services/job_execution.py",
                """
                from execution.models import Job, JobStatus
                from registry.models import PluginState


                def finish(job, plugin, reason):
                    setattr(job, "status", JobStatus.FAILED)
                    setattr(job, "reason", "timed out")
                    object.__setattr__(plugin, "state", PluginState.FAILED)
                    Job.objects.filter(pk=job.pk).update(**{"status": JobStatus.SUCCESS})
                    body = {"status": "ok", "reason": reason}
                    return Response(**{"data": body, "status": 200})
                """,
            ),
        ),
        bad=(
            sample(
                "registry/services.py",
                """
                def mark_done(plugin):
                    plugin.state = "SUCCESS"
                    plugin.save()
                """,
                2,
            ),
            sample(
                "registry/services.py", 'ROWS = PluginRegistry.objects.filter(state="success")\n', 1
            ),
            sample(
                "registry/services.py",
                """
                from registry.models import PluginState

                state = PluginState("ERROR")
                """,
                3,
            ),
            sample(
                "registry/services.py",
                """
                def healthy(plugin):
                    return plugin.state == PluginState.SUCCESS
                """,
                2,
            ),
            sample(
                "registry/services.py", 'def ready(plugin):\n    plugin.state = "INITIALIZED"\n', 2
            ),
            sample(
                "execution/selectors.py",
                """
                def broken(plugin):
                    return plugin.state in ("ERRORED",)
                """,
                2,
            ),
            sample(
                "registry/services.py",
                """
                def sync(rows, name):
                    rows.update_or_create(name=name, defaults={"state": "ERROR"})
                """,
                2,
            ),
            sample(
                "registry/selectors.py",
                'ROWS = PluginRegistry.objects.exclude(state__in=("LOADED",))\n',
                1,
            ),
            sample(
                "execution/services/job_execution.py",
                "def done(job):\n    job.status = JobStatus.DONE\n",
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                'def done(job):\n    job.status = "DONE"\n',
                2,
            ),
            sample(
                "execution/selectors.py", 'FINISHED = Job.objects.filter(status="SUCCEEDED")\n', 1
            ),
            sample(
                "registry/models.py",
                """
                class PluginRegistry(models.Model):
                    state = models.CharField(max_length=16, default="LOADED")
                """,
                2,
            ),
            sample(
                "registry/services.py",
                """
                def describe(plugin):
                    match plugin.state:
                        case "ERROR":
                            return "broken"
                    return "fine"
                """,
                3,
            ),
            sample(
                "registry/models.py",
                """
                from django.db import models


                class PluginState(models.TextChoices):
                    LOADED = "LOADED", "Loaded"
                    INITIALIZED = "INITIALIZED", "Initialized"
                    RUNNING = "RUNNING", "Running"
                    SUCCESS = "SUCCESS", "Succeeded"
                    FAILED = "FAILED", "Failed"
                    UNAVAILABLE = "UNAVAILABLE", "Unavailable"
                """,
                4,
            ),
            sample(
                "execution/models.py",
                """
                from django.db import models


                class JobStatus(models.TextChoices):
                    PENDING = "PENDING"
                    RUNNING = "RUNNING"
                    SUCCESS = "SUCCESS"
                    FAILED = "FAILED"
                """,
                4,
            ),
            sample(
                "registry/models.py",
                """
                class PluginState(models.TextChoices):
                    LOADED = "LOADED", "Loaded"
                    INITIALIZED = "INITIALIZED", "Initialized"
                    RUNNING = "RUNNING", "Running"
                    FAILED = "ERROR", "Failed"
                    UNAVAILABLE = "UNAVAILABLE", "Unavailable"
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                'def done(job):\n    setattr(job, "status", "DONE")\n',
                2,
            ),
            sample(
                "registry/services.py",
                'def mark_done(plugin):\n    setattr(plugin, "state", "SUCCESS")\n',
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                FIELD = "status"


                def fail(job):
                    setattr(job, FIELD, "FAILED")
                """,
                5,
            ),
            sample(
                "registry/services.py",
                """
                class Snapshot:
                    def __init__(self):
                        object.__setattr__(self, "state", "RUNNING")
                """,
                3,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def done(job):
                    Job.objects.filter(pk=job.pk).update(**{"status": "DONE"})
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def fail(job):
                    Job.objects.filter(pk=job.pk).update(**{"status": "FAILED"})
                """,
                2,
            ),
            sample(
                "registry/services.py",
                """
                def break_plugin(name):
                    PluginRegistry.objects.filter(name=name).update(**{"state": "ERROR"})
                """,
                2,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def cancel(job):
                    values = {"status": "CANCELLED", "reason": "cancelled"}
                    Job.objects.filter(pk=job.pk).update(**values)
                """,
                2,
            ),
        ),
    ),
    Rule(
        id="EXE005",
        message="a failure in the execution path is re-raised or converted, never silently "
        "dropped, so clients and metrics see it",
        scope=EXECUTION_CODE,
        allow=(),
        visitor=SwallowVisitor,
        good=(
            sample(
                "execution/services/job_execution.py",
                """
                import logging

                from execution.exceptions import PluginError

                logger = logging.getLogger(__name__)


                def execute(call, payload):
                    try:
                        return call(payload)
                    except ValueError:
                        pass
                    except Exception as error:
                        raise PluginError() from error
                    try:
                        return call(payload)
                    except Exception:
                        logger.exception("second attempt failed")
                    return None
                """,
            ),
            sample(
                "plugins/builtin/echo.py",
                """
                def safe(call):
                    try:
                        return call()
                    except:
                        return None
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                import contextlib
                import os
                from contextlib import suppress

                from django.db import IntegrityError


                def sync(registry_sync, pid, signum):
                    with contextlib.suppress(IntegrityError):
                        registry_sync()
                    with suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signum)
                """,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from execution.envelope import build_envelope


                def execute(call, payload, release):
                    try:
                        return call(payload)
                    except (ValueError, OSError):
                        image = None
                    try:
                        return call(image)
                    except Exception as error:
                        outcome = build_envelope(error)
                    try:
                        return call(payload)
                    except BaseException:
                        release()
                        raise
                    return outcome
                """,
            ),
        ),
        bad=(
            sample(
                "execution/services/job_execution.py",
                """
                def execute(call, payload):
                    try:
                        return call(payload)
                    except:
                        raise
                """,
                4,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(call, payload):
                    try:
                        return call(payload)
                    except Exception:
                        pass
                """,
                4,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute_all(calls):
                    for call in calls:
                        try:
                            call()
                        except (ValueError, BaseException):
                            continue
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(call, payload):
                    try:
                        return call(payload)
                    except Exception as error:
                        ...
                """,
                4,
            ),
            sample(
                "execution/selectors.py",
                """
                def job_get(job_id):
                    try:
                        return fetch(job_id)
                    except Exception:
                        return None
                """,
                4,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(call, payload):
                    try:
                        result = call(payload)
                    except Exception:
                        result = None
                    return result
                """,
                4,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                BROAD = (OSError, Exception)


                def execute(call, payload, logger):
                    try:
                        return call(payload)
                    except BROAD as error:
                        def report():
                            logger.exception("failed")
                """,
                7,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                import contextlib


                def execute(call, payload):
                    with contextlib.suppress(Exception):
                        return call(payload)
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from contextlib import suppress


                def execute(call, payload):
                    with suppress(BaseException):
                        return call(payload)
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                import contextlib as cl


                def execute(call, payload):
                    with cl.suppress(ValueError, Exception):
                        return call(payload)
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from contextlib import ExitStack, suppress

                QUIET = (KeyError, Exception)


                def execute(calls):
                    with ExitStack() as stack:
                        stack.enter_context(suppress(*QUIET))
                        for call in calls:
                            call()
                """,
                8,
            ),
        ),
    ),
    Rule(
        id="EXE006",
        message="the execution layer raises only ExecutionFailure subclasses "
        "(execution/exceptions.py), which map to stable error envelopes",
        scope=EXECUTION_CODE,
        allow=("execution/management/commands/**",),
        visitor=RaiseVisitor,
        good=(
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution.exceptions import PluginNotFound


                def plugin_for(catalog, name):
                    if name not in catalog:
                        raise PluginNotFound(plugin=name)
                    return catalog[name]
                """,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from execution import exceptions


                class SlowPlugin(exceptions.PluginError):
                    code = "PLUGIN_SLOW"


                def check(elapsed, build_failure):
                    if elapsed > 5:
                        raise SlowPlugin()
                    try:
                        return elapsed / 2
                    except ZeroDivisionError as error:
                        raise build_failure(error) from error
                """,
                extra=_EXCEPTIONS,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from execution.errors import failure_for


                def run_job(job, execute):
                    try:
                        return execute(job)
                    except KeyError:
                        raise
                    except LookupError as error:
                        raise failure_for(error) from None
                """,
            ),
            sample(
                "execution/api/views.py",
                """
                from rest_framework import serializers
                from rest_framework.exceptions import NotFound


                def check(found, valid):
                    if not found:
                        raise NotFound()
                    if not valid:
                        raise serializers.ValidationError("invalid")
                """,
            ),
            sample(
                "execution/conf.py",
                """
                class ExecutionSettings:
                    def __getattr__(self, name):
                        raise AttributeError(name)
                """,
            ),
            sample(
                "execution/management/commands/analyze.py",
                """
                from django.core.management.base import CommandError


                def handle(failures):
                    if failures:
                        raise CommandError("failed")
                    raise SystemExit(0)
                """,
            ),
        ),
        bad=(
            sample(
                "execution/services/job_execution.py", 'def f():\n    raise RuntimeError("x")\n', 2
            ),
            sample("execution/validation.py", "def f():\n    raise ValueError\n", 2),
            sample("execution/envelope.py", "def f():\n    raise NotImplementedError\n", 2),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(call):
                    try:
                        return call()
                    except KeyError as error:
                        raise Exception("lost") from error
                """,
                5,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from plugins.base import PluginUnavailable


                def plugin_for(name):
                    raise PluginUnavailable(name)
                """,
                5,
            ),
            sample(
                "execution/selectors.py",
                """
                from execution.models import Job


                def job_get(job_id):
                    raise Job.DoesNotExist(job_id)
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                def execute(name):
                    error = KeyError(name)
                    raise error
                """,
                3,
            ),
            sample(
                "execution/services/plugin_execution.py",
                """
                from rest_framework.exceptions import NotFound


                def plugin_for(name):
                    raise NotFound(name)
                """,
                5,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                class Retry(Exception):
                    pass


                def execute():
                    raise Retry()
                """,
                6,
            ),
            sample(
                "execution/services/job_execution.py",
                """
                from execution.exceptions import Envelope


                def execute():
                    raise Envelope()
                """,
                5,
                extra=_EXCEPTIONS,
            ),
        ),
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
SYNTAX_RULE = RULES_BY_ID["EXE000"]


# --- Scanning --------------------------------------------------------------------------------------


def scan_sources(files: Mapping[str, str | bytes]) -> list[Violation]:
    """Scan an in-memory tree: relative POSIX path -> source. The engine behind ``scan``."""
    violations: list[Violation] = []
    modules: list[Module] = []
    for path, source in files.items():
        try:
            tree = ast.parse(source, filename=path)
        except (SyntaxError, ValueError) as error:  # ValueError: NUL bytes
            line = getattr(error, "lineno", None) or 1
            col = getattr(error, "offset", None) or 1
            detail = f"syntax error ({getattr(error, 'msg', None) or error})"
            violations.append(SYNTAX_RULE.violation(path, line, col, detail))
            continue
        modules.append(Module(path, tree))
    project = Project(files, modules)
    for rule in RULES:
        if rule.project_check is not None:
            violations.extend(rule.project_check(rule, project))
        if rule.visitor is None:
            continue
        for module in modules:
            if rule.applies_to(module.path):
                violations.extend(rule.visitor(rule, module, project).check())
    return sorted(set(violations))


def iter_python_files(root: Path) -> Iterator[Path]:
    """The project's own .py files under ``root``, skipping virtualenvs, tests and build output."""
    for directory, subdirectories, filenames in os.walk(root):
        here = Path(directory)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if name not in SKIP_DIRS
            and not name.startswith(".")
            and not name.endswith(".egg-info")
            and not (here / name / "pyvenv.cfg").exists()
        )
        for name in sorted(filenames):
            if name.endswith(".py") and name not in SKIP_FILES:
                yield here / name


def scan(root: Path) -> list[Violation]:
    """Scan the project at ``root``; paths in the result are relative to it."""
    files = {
        path.relative_to(root).as_posix(): path.read_bytes() for path in iter_python_files(root)
    }
    return scan_sources(files)


def render(violations: Sequence[Violation], output_format: str = "text") -> str:
    """The report, without a trailing newline (the script and the command add one)."""
    if output_format == "json":
        return json.dumps([violation.as_dict() for violation in violations], indent=2)
    if not violations:
        return OK_MESSAGE
    return "\n".join(violation.as_text() for violation in violations)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, shared by this script and ``manage.py scan_execution``."""
    parser.add_argument(
        "--path",
        type=Path,
        default=DEFAULT_ROOT,
        help="project root to scan (default: the repository root)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the scanner; return the exit code (0 clean, 1 violations)."""
    parser = argparse.ArgumentParser(
        prog="scan_execution_violations",
        description="Check the execution-governance invariants (see docs/scanner.md).",
    )
    add_arguments(parser)
    options = parser.parse_args(argv)
    if not options.path.is_dir():
        parser.error(f"--path {options.path} is not a directory")
    violations = scan(options.path)
    out = stdout or sys.stdout
    out.write(render(violations, options.format) + "\n")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
