"""What a module's names are bound to: the name resolution the rules share.

The scanner never imports what it reads, so "is this the ToolRunner?" is answered from the module:
its imports, definitions, annotated parameters and assignments. mypy (strict) checks that values
match their annotations; the scanner adds that every binding of a name agrees, so rebinding it
(``runner = plugin``, a ``global``, ``service.runner = plugin``) cannot smuggle a plugin in.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.Module, *FUNCTIONS, ast.Lambda, ast.ClassDef)
IMPORT, DEF, CLASS, PARAM, ASSIGN, ANN, OTHER = [
    "import",
    "def",
    "class",
    "param",
    "assign",
    "ann",
    "other",
]
NONE = frozenset({"None"})
Types = frozenset[str] | None  # the qualified classes a value may have; None: unknown
Seen = frozenset[int]  # the expressions already followed: a cycle proves nothing


@dataclass(frozen=True, eq=False)
class Binding:
    """How a name got its value in a scope."""

    kind: str
    node: ast.AST
    scope: ast.AST  # where its value is evaluated
    value: ast.expr | None = None
    annotation: ast.expr | None = None
    target: str = ""  # the qualified name of an import, or of a module-level class or function
    method: ast.AST | None = None  # for ``self``/``cls``: the method it is the first parameter of


@dataclass(frozen=True, eq=False)
class Store:
    """A write of ``name`` (``name = v``, ``x.name = v``, ``setattr(x, "name", v)``)."""

    name: str
    node: ast.AST
    value: ast.expr | None  # None unless one plain value is stored (``a, b = ...``, ``+=``)
    annotation: ast.expr | None = None
    attribute: bool = True


class Module:
    """One parsed file: its scopes and bindings, and the questions the rules ask about names."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path, self.tree = path, tree
        parts = path.removesuffix(".py").split("/")
        self.is_package = parts[-1] == "__init__"
        self.name = ".".join(parts[:-1] if self.is_package else parts)
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, ast.AST] = {}  # node -> the scope it is evaluated in
        self.nodes: list[ast.AST] = []  # every node, parents first
        stack: list[tuple[ast.AST, ast.AST]] = [(tree, tree)]
        while stack:
            node, scope = stack.pop()
            self.nodes.append(node)
            inner = node if isinstance(node, SCOPES) else scope
            for child in ast.iter_child_nodes(node):
                self.parents[child], self.scopes[child] = node, inner
                stack.append((child, inner))
        self.stores = dict(self._stores())  # the stored-into node -> the store
        declared = [n for n in self.nodes if isinstance(n, ast.Global)]
        self.globals = {(self.scope_of(n), name) for n in declared for name in n.names}
        self.bindings: dict[ast.AST, dict[str, list[Binding]]] = {}
        for node in self.nodes:
            self._bind(node, self.scope_of(node))
        for node in self.nodes:  # setattr(x, NAME, v) and x.__setattr__, once names can be folded
            if terminal(node) in ("setattr", "__setattr__") and isinstance(node, ast.Call):
                args = node.args
                if len(args) in (2, 3) and not any(isinstance(a, ast.Starred) for a in args):
                    name = self.const_str(args[-2], self.scope_of(node)) or ""
                    self.stores[node] = Store(name, node, args[-1])

    def scope_of(self, node: ast.AST) -> ast.AST:
        return self.scopes.get(node, self.tree)

    def _add(self, name: str, binding: Binding) -> None:
        home = self.tree if (binding.scope, name) in self.globals else binding.scope
        self.bindings.setdefault(home, {}).setdefault(name, []).append(binding)

    def _bind(self, node: ast.AST, scope: ast.AST) -> None:
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            target = f"{self.name}.{node.name}" if scope is self.tree else ""
            kind = CLASS if isinstance(node, ast.ClassDef) else DEF
            self._add(node.name, Binding(kind, node, scope, target=target))
        if isinstance(node, (*FUNCTIONS, ast.Lambda)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            static = "staticmethod" in map(terminal, getattr(node, "decorator_list", []))
            is_method = isinstance(self.parents.get(node), ast.ClassDef) and not static
            for arg in [*positional, args.vararg, *args.kwonlyargs, args.kwarg]:
                method = node if is_method and positional[:1] == [arg] else None
                if arg is not None:
                    self._add(arg.arg, Binding(PARAM, arg, node, None, arg.annotation, "", method))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.partition(".")[0]
                target = alias.name if alias.asname else name
                self._add(name, Binding(IMPORT, node, scope, target=target))
        elif isinstance(node, ast.ImportFrom):
            module = self.absolute(node.module, node.level)
            for alias in node.names:
                target = f"{module}.{alias.name}"
                self._add(alias.asname or alias.name, Binding(IMPORT, node, scope, target=target))
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar | ast.MatchMapping):
            if captured := getattr(node, "name", None) or getattr(node, "rest", None):
                self._add(str(captured), Binding(OTHER, node, scope))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            store = self.stores[node]
            kind = ANN if store.annotation else OTHER if store.value is None else ASSIGN
            self._add(node.id, Binding(kind, store.node, scope, store.value, store.annotation))

    def _stores(self) -> Iterator[tuple[ast.AST, Store]]:
        for node in self.nodes:
            parent = self.parents.get(node)
            if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Store):
                name, attribute = terminal(node), isinstance(node, ast.Attribute)
                if isinstance(parent, ast.AnnAssign):
                    yield node, Store(name, parent, parent.value, parent.annotation, attribute)
                elif isinstance(parent, ast.NamedExpr | ast.Assign) and node is not parent.value:
                    yield node, Store(name, node, parent.value, None, attribute)
                else:
                    yield node, Store(name, node, None, None, attribute)

    def absolute(self, module: str | None, level: int) -> str:
        """The absolute module of ``from <module> import``, relative imports resolved."""
        package = self.name.split(".")[: None if self.is_package else -1]
        base = package[: len(package) - level + 1] if level else []
        return ".".join([*base, module] if module else base)

    def lookup(self, name: str, scope: ast.AST) -> list[Binding] | None:
        """The bindings a use of ``name`` in ``scope`` can see (LEGB; class bodies skipped)."""
        current = scope
        while True:
            found = self.bindings.get(current, {}).get(name)
            if found and (current is scope or not isinstance(current, ast.ClassDef)):
                return found
            if current is self.tree:
                return None
            current = self.scope_of(current)

    def qualified(self, expr: ast.AST, scope: ast.AST) -> str | None:
        """``execution.tool_runner.ToolRunner`` for a name bound only by imports or definitions."""
        if isinstance(expr, ast.Attribute):
            base = self.qualified(expr.value, scope)
            return f"{base}.{expr.attr}" if base else None
        if not isinstance(expr, ast.Name):
            return None
        bindings = self.lookup(expr.id, scope)
        if bindings is None:
            return f"builtins.{expr.id}" if hasattr(builtins, expr.id) else None
        if any(b.kind not in (IMPORT, DEF, CLASS) for b in bindings):
            return None
        targets = {b.target for b in bindings}
        return targets.pop() or None if len(targets) == 1 else None

    def possible(self, expr: ast.AST, scope: ast.AST, depth: int = 0) -> set[str]:
        """The qualified names ``expr`` may stand for, through tuples, ``*``, calls (``E(...)`` is
        ``E``) and the module's assignments (``BROAD = (OSError, Exception)``)."""
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return set().union(*(self.possible(e, scope, depth) for e in expr.elts))
        if isinstance(expr, ast.Starred | ast.Call):
            inner = expr.value if isinstance(expr, ast.Starred) else expr.func
            return self.possible(inner, scope, depth)
        if qualified := self.qualified(expr, scope):
            return {qualified}
        values = self.assigned(expr, scope) if depth < 5 else []
        return set().union(*(self.possible(value, home, depth + 1) for value, home in values))

    def const_str(self, expr: ast.AST | None, scope: ast.AST, depth: int = 0) -> str | None:
        """The string an expression always is, folding ``+``, f-strings and names."""
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            parts = [expr.left, expr.right]
        elif isinstance(expr, ast.JoinedStr):
            parts = expr.values
        elif isinstance(expr, ast.FormattedValue) and expr.format_spec is None:
            parts = [expr.value]
        elif isinstance(expr, ast.Name) and depth < 8:
            values = {self.const_str(v, home, depth + 1) for v, home in self.assigned(expr, scope)}
            return values.pop() if len(values) == 1 else None
        else:
            return None
        strings = [self.const_str(part, scope, depth + 1) for part in parts]
        return None if None in strings else "".join(s for s in strings if s is not None)

    def assigned(self, expr: ast.AST, scope: ast.AST) -> list[tuple[ast.expr, ast.AST]]:
        """The values a name is assigned (``=``, annotated ``=``, walrus), each with its scope."""
        bindings = (self.lookup(expr.id, scope) if isinstance(expr, ast.Name) else None) or []
        return [(b.value, b.scope) for b in bindings if b.kind in (ASSIGN, ANN) and b.value]

    # What a value is: a ToolRunner, a Thread, or unknown --------------------------------------

    def types(self, expr: ast.AST | None, scope: ast.AST, seen: Seen = frozenset()) -> Types:
        """The classes ``expr`` may hold, when every way it gets a value says so; else None."""
        if expr is None or id(expr) in seen:
            return None
        seen |= {id(expr)}
        if isinstance(expr, ast.Constant):
            return NONE if expr.value is None else None
        if isinstance(expr, ast.BoolOp | ast.IfExp | ast.NamedExpr):
            values = expr.values if isinstance(expr, ast.BoolOp) else [getattr(expr, "value", None)]
            values = [expr.body, expr.orelse] if isinstance(expr, ast.IfExp) else values
            return union(self.types(value, scope, seen) for value in values)
        if isinstance(expr, ast.Call):
            return self._returns(expr.func, scope)
        if isinstance(expr, ast.Name):
            bindings = self.lookup(expr.id, scope)
            return union(self._bound(b, seen) for b in bindings) if bindings else None
        if isinstance(expr, ast.Attribute) and (cls := self.self_class(expr.value, scope)):
            return self._attribute(cls, expr.attr, seen)
        return None

    def annotated(self, annotation: ast.AST | None, scope: ast.AST) -> Types:
        """``ToolRunner``, ``ToolRunner | None``, ``Optional["ToolRunner"]``, ``Union[...]``."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            annotation = ast.parse(annotation.value, mode="eval").body
        if isinstance(annotation, ast.Constant) and annotation.value is None:
            return NONE
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = (annotation.left, annotation.right)
            return union(self.annotated(side, scope) for side in sides)
        if isinstance(annotation, ast.Subscript):
            inner, wrapper = annotation.slice, terminal(annotation.value)
            elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            if wrapper == "Optional":
                return union([self.annotated(elements[0], scope), NONE])
            return union(self.annotated(e, scope) for e in elements) if wrapper == "Union" else None
        qualified = self.qualified(annotation, scope) if annotation is not None else None
        return frozenset({qualified}) if qualified else None

    def self_class(self, expr: ast.AST, scope: ast.AST) -> ast.ClassDef | None:
        """The class of a method's ``self``/``cls``, when the name is never rebound."""
        bindings = (self.lookup(expr.id, scope) if isinstance(expr, ast.Name) else None) or []
        method = bindings[0].method if len(bindings) == 1 else None
        cls = self.parents.get(method) if method is not None else None
        return cls if isinstance(cls, ast.ClassDef) else None

    def _returns(self, func: ast.expr, scope: ast.AST) -> Types:
        """Calling a class gives one of it; calling a function, what its annotation says."""
        bindings = (self.lookup(func.id, scope) if isinstance(func, ast.Name) else None) or []
        functions = [b.node for b in bindings if isinstance(b.node, FUNCTIONS)]
        if bindings and len(functions) == len(bindings):
            return union(self.annotated(f.returns, self.scope_of(f)) for f in functions)
        called = self.qualified(func, scope) or ""
        return frozenset({called}) if called.rpartition(".")[2][:1].isupper() else None

    def _bound(self, binding: Binding, seen: Seen) -> Types:
        declared = binding.kind == ANN and terminal(binding.value or ast.Name("field")) == "field"
        if binding.kind == PARAM or declared:  # a declaration (or a dataclass field): mypy checks
            return self.annotated(binding.annotation, binding.scope)
        if binding.kind in (ASSIGN, ANN):
            return self.types(binding.value, binding.scope, seen)
        return None

    def _attribute(self, cls: ast.ClassDef, attr: str, seen: Seen) -> Types:
        """``self.<attr>``: what the class declares, and whatever the module ever stores in any
        ``<x>.<attr>``, so ``service.runner = plugin`` anywhere makes it unknown."""
        found: list[Types] = []
        for b in self.bindings.get(cls, {}).get(attr, []):  # a property, a declaration, a value
            found.append(
                self.annotated(b.node.returns, cls)
                if isinstance(b.node, FUNCTIONS)
                else self._bound(b, seen)
            )
        for store in (s for s in self.stores.values() if s.attribute and s.name == attr):
            scope, kind = self.scope_of(store.node), ANN if store.annotation else ASSIGN
            binding = Binding(kind, store.node, scope, store.value, store.annotation)
            found.append(self._bound(binding, seen) if store.value or store.annotation else None)
        return union(found) if found else None

    def inside(self, node: ast.AST, ancestor: ast.AST) -> bool:
        while node is not ancestor and node in self.parents:
            node = self.parents[node]
        return node is ancestor


def union(parts: Iterable[Types]) -> Types:
    found: set[str] = set()
    for part in parts:
        if part is None:
            return None
        found |= part
    return frozenset(found)


def terminal(expr: ast.AST) -> str:
    """The last name of ``a.b.c``, ``c`` or ``c(...)``."""
    expr = expr.func if isinstance(expr, ast.Call) else expr
    return expr.attr if isinstance(expr, ast.Attribute) else getattr(expr, "id", "")


def short(node: ast.AST, limit: int = 40) -> str:
    """Source of a node for a message, on one line and cut to ``limit``."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
