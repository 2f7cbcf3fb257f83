"""Every rule: one module each, named for its id, holding ``RULE``. A new module is a new rule."""

import pkgutil
from importlib import import_module

from ..engine import Rule

NAMES = sorted(info.name for info in pkgutil.iter_modules(__path__))
RULES: tuple[Rule, ...] = tuple(import_module(f"{__name__}.{name}").RULE for name in NAMES)
