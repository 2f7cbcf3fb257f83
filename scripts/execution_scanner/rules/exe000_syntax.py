"""EXE000: every file parses. The engine reports it when ``ast.parse`` fails."""

from ..engine import Rule

WHY = "a file that does not parse cannot be checked, so it cannot pass"
RULE = Rule("EXE000", WHY, ("**",), __file__)
