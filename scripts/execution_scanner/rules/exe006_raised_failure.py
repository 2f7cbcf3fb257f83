"""EXE006: the execution layer raises only ExecutionFailure subclasses (read from the tree), each
mapped to a stable error code and HTTP status; a ``ValueError`` becomes an anonymous 500."""

import ast
import builtins
from collections.abc import Iterator

from ..engine import EVERYTHING, Finding, Rule, Tree
from ..names import FUNCTIONS, UNKNOWN, Module

EXCEPTIONS_MODULE = "execution.exceptions"
DJANGO = "django.core.exceptions"
HTTP: tuple[str, ...] = ("rest_framework.exceptions", "rest_framework.serializers.ValidationError")
HTTP += ("django.http.Http404", f"{DJANGO}.PermissionDenied", f"{DJANGO}.SuspiciousOperation")
FORMS = (f"{DJANGO}.ValidationError",)
ALLOW: dict[str, tuple[str, ...]] = {
    "execution/management/commands/**": EVERYTHING,  # they report to a terminal, not to a client
    # Framework exceptions where the framework expects them (a finding's key is the class): DRF
    # makes these responses, forms show a ValidationError, a misconfiguration stops start-up.
    **dict.fromkeys(["**/views.py", "**/api/**", "**/serializers.py"], HTTP + FORMS),
    **dict.fromkeys(["**/models.py", "**/admin.py"], FORMS),
    "**": (f"{DJANGO}.ImproperlyConfigured",),
}
# What Python's protocols require of these methods (PEP 562 ``__getattr__``...).
PROTOCOL = {"__getattr__": "AttributeError", "__getattribute__": "AttributeError"}
PROTOCOL |= {"__getitem__": "KeyError IndexError", "__missing__": "KeyError"}
PROTOCOL |= {"__next__": "StopIteration", "__anext__": "StopAsyncIteration"}


def _allowed(tree: Tree, qualified: str) -> bool:
    owner, _, name = qualified.rpartition(".")
    if owner == "builtins":  # an exception class; a builtin function's result is unknown
        value = getattr(builtins, name, None)
        return not (isinstance(value, type) and issubclass(value, BaseException))
    if owner == EXCEPTIONS_MODULE and EXCEPTIONS_MODULE not in tree.module_names:
        return True  # a tree without the hierarchy trusts its names
    if qualified in tree.subclasses(f"{EXCEPTIONS_MODULE}.ExecutionFailure"):
        return True
    if owner in tree.module_names:  # ours: only a class outside the hierarchy is bad
        return qualified not in tree.classes
    return not name[:1].isupper()  # third-party: a CapWords name is an exception class


def _check(module: Module, tree: Tree) -> Iterator[Finding]:
    for node in (node for node in module.nodes if isinstance(node, ast.Raise) and node.exc):
        function = module.scope_of(node)
        protocol = PROTOCOL.get(function.name, "") if isinstance(function, FUNCTIONS) else ""
        for raised in sorted(module.values(node.exc, function) - {UNKNOWN, "None"}):
            name = raised.removeprefix("builtins.")
            if name not in protocol.split() and not _allowed(tree, raised):
                yield Finding(node, f"raises `{name}`, not an ExecutionFailure subclass", raised)


WHY = "only ExecutionFailure subclasses (execution/exceptions.py) map to stable error envelopes"
RULE = Rule("EXE006", WHY, ("execution/**",), __file__, ALLOW, _check)
