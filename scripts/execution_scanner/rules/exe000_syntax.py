"""EXE000: every file parses. The engine reports it when ``ast.parse`` fails."""

from ..engine import Rule

RULE = Rule(
    "EXE000",
    "a file that does not parse cannot be checked, so it cannot pass",
    ("**",),
    (),
    __file__,
)
