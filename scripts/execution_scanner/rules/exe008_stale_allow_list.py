"""EXE008: in a project (the root holds manage.py) every allow-list glob matches a file. One that
matches nothing hides nothing today, and tomorrow whatever file is added there, unreviewed."""

from collections.abc import Iterator

from ..engine import Rule, Tree, Violation, matches


def _check_tree(tree: Tree) -> Iterator[Violation]:
    for rule in tree.rules if tree.is_project else ():
        for glob in rule.allow:
            if not any(matches(path, [glob]) for path in tree.paths):
                detail = f"{rule.id}'s allow-list glob {glob!r} matches no file"
                yield RULE.stale(glob, detail, rule.defined_in)


WHY = "every exception a rule grants is reviewed, and one that matches no file is removed"
RULE = Rule("EXE008", WHY, (), __file__, check_tree=_check_tree)
