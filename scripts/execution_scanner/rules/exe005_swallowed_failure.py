"""EXE005: no failure in the execution path is silently swallowed.

``except:`` always; a handler of ``Exception``/``BaseException`` (alone, in a tuple, or through a
name bound to one) whose body neither raises nor calls anything (no log, no envelope); and
``contextlib.suppress`` of a broad class, which has no body that could log.
"""

import ast
from collections.abc import Iterable, Iterator

from ..engine import Finding, Rule, Tree
from ..names import FUNCTIONS, Module, short

BROAD = {"builtins.Exception", "builtins.BaseException"}


def _broad(module: Module, caught: Iterable[ast.AST], scope: ast.AST) -> str:
    names = set().union(*(module.possible(expr, scope) for expr in caught)) & BROAD
    return ", ".join(sorted(name.removeprefix("builtins.") for name in names))


def _acts(statements: Iterable[ast.stmt]) -> bool:
    """Whether a handler raises or calls anything. A nested ``def`` or ``lambda`` body does not
    run there: only its decorators and defaults do."""
    stack: list[ast.AST] = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Raise | ast.Call):
            return True
        if isinstance(node, (*FUNCTIONS, ast.Lambda)):
            defaults = [d for d in node.args.kw_defaults if d is not None]
            stack += [*getattr(node, "decorator_list", []), *node.args.defaults, *defaults]
        else:
            stack += ast.iter_child_nodes(node)
    return False


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in module.nodes:
        scope = module.scope_of(node)
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            yield node, "bare `except:` also catches SystemExit and KeyboardInterrupt"
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            if _broad(module, [node.type], scope) and not _acts(node.body):
                yield node, f"`except {short(node.type)}` swallows the failure (the handler "
                "neither raises nor calls anything: no log, no envelope)"
        elif isinstance(node, ast.Call) and "contextlib.suppress" in module.possible(
            node.func, scope
        ):
            broad = _broad(module, node.args, scope)
            if broad:
                yield node, f"`{short(node)}` swallows every failure (suppresses {broad})"


WHY = "a failure in the execution path is re-raised or converted, never silently dropped, so "
WHY += "clients and metrics see it"
RULE = Rule("EXE005", WHY, ("execution/**",), (), __file__, check=_check)
