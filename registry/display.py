"""How registry figures read to operators, the same in the admin and on the command line."""

from __future__ import annotations


def format_ms(value: float | None) -> str:
    """Milliseconds to one decimal, a dash for never."""
    return "—" if value is None else f"{value:.1f}"
