"""EXE005: no failure in the execution path is silently swallowed: not by ``except:``, by a broad
handler that neither raises nor calls anything, nor by ``contextlib.suppress`` of a broad class."""

import ast
from collections.abc import Iterable, Iterator

from ..engine import Finding, Rule, Tree
from ..names import Module, short

BROAD = {"builtins.Exception", "builtins.BaseException"}
SUPPRESS = "contextlib.suppress"  # a suppress has no body that could log
SILENT = "the handler neither raises nor calls anything: no log, no envelope"


def _broad(module: Module, caught: Iterable[ast.AST], scope: ast.AST) -> str:
    names = set().union(*(module.values(expr, scope) for expr in caught)) & BROAD
    return ", ".join(sorted(name.removeprefix("builtins.") for name in names))


def _acts(module: Module, handler: ast.ExceptHandler) -> bool:
    """Whether a handler raises or calls anything in its own scope: a nested ``def``,
    ``lambda`` or ``class`` body does not run when the handler does."""
    acting = [n for s in handler.body for n in ast.walk(s) if isinstance(n, ast.Raise | ast.Call)]
    return any(module.scope_of(node) is module.scope_of(handler) for node in acting)


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in module.nodes:
        scope = module.scope_of(node)
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            yield Finding(node, "bare `except:` also catches SystemExit and KeyboardInterrupt")
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            if _broad(module, [node.type], scope) and not _acts(module, node):
                yield Finding(node, f"`except {short(node.type)}` swallows the failure ({SILENT})")
        elif isinstance(node, ast.Call) and SUPPRESS in module.values(node.func, scope):
            broad = _broad(module, node.args, scope)
            if broad:
                yield Finding(node, f"`{short(node)}` swallows every failure (suppresses {broad})")


WHY = "execution failures are re-raised or converted, never dropped: clients and metrics see them"
RULE = Rule("EXE005", WHY, ("execution/**",), __file__, check=_check)
