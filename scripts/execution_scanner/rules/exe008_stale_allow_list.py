"""EXE008: every allow-list glob of every rule matches at least one file of the project.

An exception that matches nothing hides nothing today and anything tomorrow: whoever adds a file
there inherits it unreviewed. Checked when the scanned root is a project (it holds manage.py), so
a throwaway tree of samples is not held to the project's layout.
"""

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
