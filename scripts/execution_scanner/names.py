"""The name resolution the rules share: "is this the ToolRunner?" is answered from the module's
imports, definitions, annotated parameters and assignments, never by importing it. mypy (strict)
holds each binding to its declaration (tests/scanner/samples/mypy/), so a declaration is trusted."""

import ast
import builtins
from collections.abc import Sequence
from typing import NamedTuple

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.Module, *FUNCTIONS, ast.Lambda, ast.ClassDef)
PLAIN_STORES = (ast.Assign, ast.AnnAssign, ast.NamedExpr)  # one value, stored as it is
UNKNOWN = "?"  # among what a value may be: whatever the module does not say
Seen = frozenset[int]  # the expressions already followed: a cycle proves nothing


class Binding(NamedTuple):
    """How a name got its value in a scope; in ``Module.stores``, a write of a name or of an
    attribute (``x.name = v``, ``setattr(x, "name", v)``)."""

    name: str
    node: ast.AST
    scope: ast.AST  # where its value is evaluated
    value: ast.expr | None = None  # None unless one plain value is stored (not ``a, b = ...``)
    annotation: ast.expr | None = None
    target: str = ""  # the qualified name of an import, or of a module-level class
    method: ast.AST | None = None  # for ``self``/``cls``: the method it is the first parameter of

    @property
    def attribute(self) -> bool:
        return not isinstance(self.node, ast.Name)


class Module:
    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path, self.tree = path, tree
        parts = path.removesuffix(".py").split("/")
        self.is_package = parts[-1] == "__init__"
        self.name = ".".join(parts[:-1] if self.is_package else parts)
        self.nodes: list[ast.AST] = list(ast.walk(tree))  # every node, parents first
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, ast.AST] = {}  # node -> the scope it is evaluated in
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
                self.scopes[child] = node if isinstance(node, SCOPES) else self.scope_of(node)
        self.bindings: dict[ast.AST, dict[str, list[Binding]]] = {}
        self.stores: list[Binding] = []  # every write of a name or an attribute
        for node in self.nodes:
            self._bind(node, self.scope_of(node))
        for node in self.nodes:  # setattr(x, NAME, v) and x.__setattr__, once names can be folded
            if isinstance(node, ast.Call) and terminal(node) in ("setattr", "__setattr__"):
                args, scope = node.args, self.scope_of(node)
                if len(args) in (2, 3) and not any(isinstance(a, ast.Starred) for a in args):
                    name = self.const_str(args[-2], scope) or ""
                    self.stores.append(Binding(name, node, scope, args[-1]))

    def scope_of(self, node: ast.AST) -> ast.AST:
        return self.scopes.get(node, self.tree)

    def _add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.scope, {}).setdefault(binding.name, []).append(binding)

    def _bind(self, node: ast.AST, scope: ast.AST) -> None:
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):  # a function stands for what it returns
            known = scope is self.tree and isinstance(node, ast.ClassDef)
            target = f"{self.name}.{node.name}" if known else ""
            self._add(Binding(node.name, node, scope, target=target))
        if isinstance(node, (*FUNCTIONS, ast.Lambda)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            static = "staticmethod" in map(terminal, getattr(node, "decorator_list", []))
            is_method = isinstance(self.parents.get(node), ast.ClassDef) and not static
            for arg in [*positional, args.vararg, *args.kwonlyargs, args.kwarg]:
                if arg is not None:
                    method = node if is_method and positional[:1] == [arg] else None
                    self._add(Binding(arg.arg, arg, node, None, arg.annotation, "", method))
        elif isinstance(node, ast.Import):  # ``import a.b`` binds ``a``; ``import a.b as c``, a.b
            for alias in node.names:
                target = alias.name if alias.asname else alias.name.partition(".")[0]
                self._add(Binding(alias.asname or target, node, scope, target=target))
        elif isinstance(node, ast.ImportFrom):
            module = self.absolute(node.module, node.level)
            for alias in node.names:
                name, target = alias.asname or alias.name, f"{module}.{alias.name}"
                self._add(Binding(name, node, scope, target=target))
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar | ast.MatchMapping):
            if captured := getattr(node, "name", None) or getattr(node, "rest", None):
                self._add(Binding(str(captured), node, scope))
        elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Store):
            parent = self.parents[node]  # no value for ``a, b = ...``, ``+=``, ``for``, ``with``
            value = parent.value if isinstance(parent, PLAIN_STORES) else None
            annotation = parent.annotation if isinstance(parent, ast.AnnAssign) else None
            store = Binding(terminal(node), node, scope, value, annotation)
            self.stores.append(store)
            if isinstance(node, ast.Name):
                self._add(store)

    def absolute(self, module: str | None, level: int) -> str:
        """The absolute module of ``from <module> import``, relative imports resolved."""
        package = self.name.split(".")[: None if self.is_package else -1]
        base = package[: len(package) - level + 1] if level else []
        return ".".join([*base, module] if module else base)

    def lookup(self, expr: ast.AST, scope: ast.AST) -> list[Binding]:
        """The bindings a use of the name ``expr`` in ``scope`` can see (LEGB, class bodies
        skipped); none for anything but a name."""
        current = scope
        while isinstance(expr, ast.Name):
            found = self.bindings.get(current, {}).get(expr.id)
            if found and (current is scope or not isinstance(current, ast.ClassDef)):
                return found
            if current is self.tree:
                break
            current = self.scope_of(current)
        return []

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
            bindings = [binding for binding in self.lookup(expr, scope) if binding.value]
            values = {self.const_str(b.value, b.scope, depth + 1) for b in bindings}
            return values.pop() if len(values) == 1 else None
        else:
            return None
        strings = [self.const_str(part, scope, depth + 1) for part in parts]
        return None if None in strings else "".join(s for s in strings if s is not None)

    def dicts(self, expr: ast.AST, scope: ast.AST) -> list[ast.Dict]:
        """The dict literals ``expr`` is or a name of it is assigned (``f(**values)``)."""
        found = [expr, *(binding.value for binding in self.lookup(expr, scope))]
        return [value for value in found if isinstance(value, ast.Dict)]

    def values(self, expr: ast.AST | None, scope: ast.AST, seen: Seen = frozenset()) -> set[str]:
        """What ``expr`` may be, as qualified names (``execution.tool_runner.ToolRunner``): the
        module or class it names, or the class of what it holds, as far as every way it gets a
        value says; UNKNOWN for the rest, and for a cycle. An annotation reads the same:
        ``ToolRunner | None``, ``Optional["ToolRunner"]``."""
        if expr is None or id(expr) in seen:
            return {UNKNOWN}
        seen |= {id(expr)}
        parts: Sequence[ast.AST | None]  # what it may be any of
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            parts = [_forward_reference(expr.value)]
        elif isinstance(expr, ast.Constant):
            return {"None" if expr.value is None else UNKNOWN}
        elif isinstance(expr, ast.Tuple | ast.List | ast.Set | ast.BoolOp):
            parts = expr.values if isinstance(expr, ast.BoolOp) else expr.elts
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            parts = [expr.left, expr.right]
        elif isinstance(expr, ast.Subscript) and terminal(expr.value) in ("Optional", "Union"):
            parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        elif isinstance(expr, ast.IfExp):
            parts = [expr.body, expr.orelse]
        elif isinstance(expr, ast.Starred | ast.NamedExpr):
            parts = [expr.value]
        elif isinstance(expr, ast.Call):  # a class gives one of it; a function, what it returns
            return self.values(expr.func, scope, seen)
        elif bindings := self.lookup(expr, scope):
            return set().union(*(self._bound(binding, seen) for binding in bindings))
        elif isinstance(expr, ast.Name):
            return {f"builtins.{expr.id}" if hasattr(builtins, expr.id) else UNKNOWN}
        elif isinstance(expr, ast.Attribute):
            return self._attribute(expr, scope, seen)
        else:
            return {UNKNOWN}
        return set().union(*(self.values(part, scope, seen) for part in parts))

    def _bound(self, binding: Binding, seen: Seen) -> set[str]:
        """An import or a module-level class is what it names; a declaration (a parameter,
        ``x: T``, a dataclass field) what its annotation says, since mypy checks it; an
        assignment, what its value is; anything else, unknown."""
        if binding.target:
            return {binding.target}
        if isinstance(binding.node, FUNCTIONS):  # a property (or a method): what it returns
            return self.values(binding.node.returns, binding.scope, seen)
        if binding.value is None or terminal(binding.value) == "field":
            return self.values(binding.annotation, binding.scope, seen)
        return self.values(binding.value, binding.scope, seen)

    def _attribute(self, expr: ast.Attribute, scope: ast.AST, seen: Seen) -> set[str]:
        """``module.name`` or ``Class.name`` once the owner is known. ``self.<attr>`` in a method
        (``self`` never rebound): what the class declares, and what the module stores in any
        ``<x>.<attr>`` (``self.runner = ...`` in ``__init__``). Any other attribute is unknown."""
        if UNKNOWN not in (owners := self.values(expr.value, scope, seen)):
            return {f"{owner}.{expr.attr}" for owner in owners}
        bindings = self.lookup(expr.value, scope)
        method = bindings[0].method if len(bindings) == 1 else None
        cls = self.parents.get(method) if method else None
        if not isinstance(cls, ast.ClassDef):
            return {UNKNOWN}
        declared = self.bindings.get(cls, {}).get(expr.attr, [])  # property, declaration, value
        stored = [store for store in self.stores if store.attribute and store.name == expr.attr]
        found = [self._bound(binding, seen) for binding in [*declared, *stored]]
        return set().union(*found) if found else {UNKNOWN}


def _forward_reference(annotation: str) -> ast.expr | None:
    try:
        return ast.parse(annotation, mode="eval").body
    except (SyntaxError, ValueError):  # not an annotation (ValueError: a NUL byte)
        return None


def terminal(expr: ast.AST) -> str:
    """The last name of ``a.b.c``, ``c`` or ``c(...)``."""
    expr = expr.func if isinstance(expr, ast.Call) else expr
    return expr.attr if isinstance(expr, ast.Attribute) else getattr(expr, "id", "")


def short(node: ast.AST, limit: int = 40) -> str:
    """Source of a node for a message, on one line and cut to ``limit``."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
