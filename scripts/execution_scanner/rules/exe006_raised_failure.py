"""EXE006: the execution layer raises only ExecutionFailure subclasses.

Each maps to a stable error code and HTTP status; a ``ValueError`` becomes an anonymous 500. The
hierarchy is read from the tree, transitively from ``ExecutionFailure``. A bare ``raise``, a caught
name re-raised, and a value whose class cannot be resolved (a factory's) pass.
"""

import ast
import builtins
from collections.abc import Iterator

from ..engine import Finding, Rule, Tree, matches
from ..names import FUNCTIONS, Module

EXCEPTIONS_MODULE = "execution.exceptions"
HTTP: tuple[str, ...] = ("rest_framework.exceptions.", "rest_framework.serializers.ValidationError")
HTTP += ("django.http.Http404", "django.core.exceptions.PermissionDenied")
HTTP += ("django.core.exceptions.SuspiciousOperation", "django.core.exceptions.ValidationError")
# Framework exceptions where the framework expects them: (path globs, qualified prefixes).
FRAMEWORK = (
    (("**/views.py", "**/api/**", "**/serializers.py"), HTTP),  # DRF makes them responses
    (("**/models.py", "**/admin.py"), ("django.core.exceptions.ValidationError",)),  # forms'
    (("**",), ("django.core.exceptions.ImproperlyConfigured",)),  # at start-up, not a request
)
# What Python's protocols require of these methods (PEP 562 ``__getattr__``...).
PROTOCOL = {"__getattr__": "AttributeError", "__getattribute__": "AttributeError"}
PROTOCOL |= {"__getitem__": "KeyError IndexError", "__missing__": "KeyError"}
PROTOCOL |= {"__next__": "StopIteration", "__anext__": "StopAsyncIteration"}


def _allowed(module: Module, tree: Tree, qualified: str) -> bool:
    owner, _, name = qualified.rpartition(".")
    if owner == "builtins":  # an exception class; a builtin function's result is unknown
        return not isinstance(value := getattr(builtins, name, None), type) or not issubclass(
            value, BaseException
        )
    if EXCEPTIONS_MODULE not in tree.module_names and owner == EXCEPTIONS_MODULE:
        return True  # a tree without the hierarchy trusts its names
    if qualified in tree.subclasses(f"{EXCEPTIONS_MODULE}.ExecutionFailure"):
        return True
    if any(matches(module.path, paths) and qualified.startswith(p) for paths, p in FRAMEWORK):
        return True
    if owner in tree.module_names:  # ours: only a class outside the hierarchy is bad
        return qualified not in tree.classes
    return not name[:1].isupper()  # third-party: a CapWords name is an exception class


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in module.nodes:
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        function = module.scope_of(node)
        protocol = PROTOCOL.get(function.name, "") if isinstance(function, FUNCTIONS) else ""
        for qualified in sorted(module.possible(node.exc, function)):
            name = qualified.removeprefix("builtins.")
            if name not in protocol.split() and not _allowed(module, tree, qualified):
                yield node, f"raises `{name}`, not an ExecutionFailure subclass"
                break


WHY = "the execution layer raises only ExecutionFailure subclasses (execution/exceptions.py), "
WHY += "which map to stable error envelopes"
ALSO = tuple(glob for paths, _ in FRAMEWORK for glob in paths)
COMMANDS = ("execution/management/commands/**",)  # they report to a terminal, not to a client
RULE = Rule("EXE006", WHY, ("execution/**",), COMMANDS, __file__, ALSO, check=_check)
