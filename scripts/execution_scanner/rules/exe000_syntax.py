"""EXE000: every file parses. One that does not is reported; the other files are still checked."""

from collections.abc import Iterator

from ..engine import Rule, Tree, Violation


def _check_tree(tree: Tree) -> Iterator[Violation]:
    for path, error in tree.unparsed.items():  # a SyntaxError, or a ValueError for a NUL byte
        line, col = getattr(error, "lineno", None) or 1, getattr(error, "offset", None) or 1
        message = getattr(error, "msg", None) or error
        yield RULE.violation(path, line, col, f"syntax error ({message})")


WHY = "a file that does not parse cannot be checked, so it cannot pass"
RULE = Rule("EXE000", WHY, ("**",), __file__, check_tree=_check_tree)
